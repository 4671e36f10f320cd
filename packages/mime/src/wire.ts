// IMAP wire quoting for the strings inside ENVELOPE and BODYSTRUCTURE.
//
// Every string here is a "binary string": one JS char per byte (U+0000..U+00FF),
// so 8-bit header bytes survive untouched and `Buffer.from(s, 'latin1')` gives
// the exact wire bytes. The choice between quoted string, literal and NIL follows
// RFC 3501 §4.3 (quoted vs literal) and §4.5 (NIL), and mirrors Dovecot's
// imap-quote rules so the output is byte-identical to the recorded corpus.

/** Above this many quoted-specials a literal is shorter than escaping (Dovecot's threshold). */
const QUOTED_MAX_ESCAPE_CHARS = 4;

/** RFC 3501 §4.3: a literal is `{n}` CRLF followed by n bytes. */
export function literal(s: string): string {
  return `{${s.length}}\r\n${s}`;
}

/** RFC 3501 §4.3 quoted string; CR, LF and 8-bit bytes are not allowed and dropped. */
export function quoted(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c >= 0x80) continue;
    if (c === 0x22 || c === 0x5c) out += '\\';
    out += s[i];
  }
  return `${out}"`;
}

/**
 * RFC 3501 §4.5 nstring: NIL for null, a quoted string when it is plain 7-bit text,
 * otherwise a literal (CR/LF, 8-bit, or many quoted-specials).
 */
export function nstring(s: string | null | undefined): string {
  if (s === null || s === undefined) return 'NIL';
  let escapes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      if (escapes++ < QUOTED_MAX_ESCAPE_CHARS) continue;
      return literal(s);
    }
    if (c === 13 || c === 10 || c >= 0x80) return literal(s);
  }
  return quoted(s);
}

/** nstring after unfolding: CR/LF removed, a space kept between joined lines. */
export function nstringNoLf(s: string | null | undefined): string {
  if (s === null || s === undefined || !/[\r\n]/.test(s)) return nstring(s);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '\r' && ch !== '\n') {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\r' && next !== '\n') {
      out += ' ';
    }
  }
  return nstring(out);
}

/**
 * Text meant for humans (ENVELOPE subject and personal names): runs of white
 * space collapse to one space, leading/trailing white space and CR/LF go, NUL
 * becomes 0x80. Anything needing change or escaping is sent as a literal.
 */
export function stringForHumans(src: string): string {
  let modify = false;
  let removeCount = 0;
  let lastLwsp = true;
  let whitespacePrefix = true;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 0) {
      lastLwsp = false;
      modify = true;
    } else if (c === 9 || c === 32) {
      if (c === 9) modify = true;
      if (lastLwsp) {
        modify = true;
        removeCount++;
      }
      lastLwsp = true;
    } else if (c === 13 || c === 10) {
      removeCount++;
      modify = true;
    } else {
      if (c === 0x22 || c === 0x5c || c >= 0x80) modify = true;
      lastLwsp = false;
    }
    if (!lastLwsp) whitespacePrefix = false;
  }
  if (lastLwsp && src.length > 0 && !whitespacePrefix) {
    modify = true;
    removeCount++;
  }
  if (!modify) return `"${src}"`;
  if (src.length === removeCount) return '""';

  let out = '';
  lastLwsp = true;
  whitespacePrefix = true;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 0) {
      out += '\x80';
      lastLwsp = false;
    } else if (c === 9 || c === 32) {
      if (!lastLwsp) out += ' ';
      lastLwsp = true;
    } else if (c !== 13 && c !== 10) {
      lastLwsp = false;
      out += src[i];
    }
    if (!lastLwsp) whitespacePrefix = false;
  }
  if (lastLwsp && src.length > 0 && !whitespacePrefix) out = out.slice(0, -1);
  return literal(out);
}
