// Header text as SORT and THREAD compare it: RFC 2047 encoded words decoded
// to UTF-8 and, for comparison, the i;unicode-casemap form (RFC 5051 §2:
// titlecase, then decomposed). Input is a binary string (one char per byte,
// as header values are kept); output is a JS string.
//
// Where RFC 2047 leaves room, this decodes as Dovecot does, so that sort
// orders agree with it byte for byte:
// - an encoded word is "=?" charset "?" enc "?" text "?=" with no further
//   checks (white space inside is accepted);
// - a run of white space standing next to an encoded word — before the
//   first one, between two, never after the last — is dropped (§6.2 asks for
//   this only between two);
// - an unknown charset (also one with an RFC 2231 "*lang" suffix) leaves the
//   decoded bytes as they are, read as UTF-8, and not case-mapped;
// - ISO-8859-1 is ISO-8859-1 (WHATWG would read windows-1252);
// - raw 8-bit text is read as UTF-8, invalid bytes become U+FFFD.

import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder | null>();
const UTF8 = new TextDecoder('utf-8');

/** WHATWG reads these as windows-1252; iconv (and so Dovecot) as ISO-8859-1 proper. */
const LATIN1 = /^(iso-?8859-1|iso_8859-1(:1987)?|latin1|l1|cp819|ibm819|iso-ir-100|csisolatin1|iso88591)$/i;
const latin1 = { decode: (b: Buffer) => b.toString('latin1') } as TextDecoder;

function decoderFor(charset: string): TextDecoder | null {
  if (LATIN1.test(charset)) return latin1;
  const key = charset.toLowerCase();
  let d = decoders.get(key);
  if (d === undefined) {
    try {
      d = new TextDecoder(key);
    } catch {
      d = null;
    }
    decoders.set(key, d);
  }
  return d;
}

const isUtf8Charset = (c: string): boolean => /^(us-ascii|ascii|utf-?8)$/i.test(c);

/** A binary string as bytes. */
const bytes = (bin: string): Buffer => Buffer.from(bin, 'latin1');

/** Bytes read as UTF-8; a run of invalid bytes becomes one U+FFFD (as Dovecot writes it). */
const asUtf8 = (bin: string): string =>
  /[\x80-\xff]/.test(bin) ? UTF8.decode(bytes(bin)).replace(/\ufffd+/g, '\ufffd') : bin;

/** Raw header bytes read as UTF-8; NUL (invalid in a header) becomes U+FFFD as in ENVELOPE. */
export const utf8Text = (bin: string): string => asUtf8(bin).replaceAll('\0', '\ufffd');

function qDecode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '_') out += ' ';
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += c;
  }
  return out;
}

function bDecode(text: string): string {
  const valid = /^[A-Za-z0-9+/]*/.exec(text)?.[0] ?? '';
  return Buffer.from(valid, 'base64').toString('latin1');
}

const isLwsp = (s: string): boolean => /^[ \t\r\n]*$/.test(s);

/**
 * Decodes encoded words (RFC 2047 §6); with `casemap`, every piece is also
 * put in i;unicode-casemap form — except text in a charset we cannot read,
 * which is kept as is (Dovecot does the same).
 */
export function decodeHeader(raw: string, casemap = false): string {
  const norm = (s: string) => (casemap ? titlecaseDecomposed(s) : s);
  if (!raw.includes('=?')) return norm(utf8Text(raw));
  let out = '';
  let start = 0;
  let pos = 0;
  while (pos + 1 < raw.length) {
    if (raw[pos] !== '=' || raw[pos + 1] !== '?') {
      pos++;
      continue;
    }
    if (pos !== start && !isLwsp(raw.slice(start, pos))) out += norm(utf8Text(raw.slice(start, pos)));
    pos += 2;
    // "charset?enc?text?=": three '?' and then '='.
    const q1 = raw.indexOf('?', pos);
    const q2 = q1 < 0 ? -1 : raw.indexOf('?', q1 + 1);
    const q3 = q2 < 0 ? -1 : raw.indexOf('?', q2 + 1);
    const enc = raw[q1 + 1]?.toUpperCase();
    if (q3 < 0 || raw[q3 + 1] !== '=' || (enc !== 'Q' && enc !== 'B')) {
      start = pos - 2;
      continue;
    }
    const charset = raw.slice(pos, q1);
    const text = raw.slice(q2 + 1, q3);
    const decoded = enc === 'Q' ? qDecode(text) : bDecode(text);
    if (decoded.length > 0) {
      const dec = isUtf8Charset(charset) ? null : decoderFor(charset);
      // Decoded text keeps a NUL (=00): the key ends there, as a C string would.
      if (isUtf8Charset(charset)) out += norm(asUtf8(decoded));
      else if (dec) out += norm(dec.decode(bytes(decoded)));
      else out += asUtf8(decoded);
    }
    pos = q3 + 2;
    start = pos;
  }
  if (start < raw.length) out += norm(utf8Text(raw.slice(start)));
  return out;
}

/** Simple titlecase mappings that differ from the simple uppercase ones (UnicodeData.txt field 14). */
const TITLE: Record<string, string> = {
  '\u01c4': '\u01c5',
  '\u01c5': '\u01c5',
  '\u01c6': '\u01c5',
  '\u01c7': '\u01c8',
  '\u01c8': '\u01c8',
  '\u01c9': '\u01c8',
  '\u01ca': '\u01cb',
  '\u01cb': '\u01cb',
  '\u01cc': '\u01cb',
  '\u01f1': '\u01f2',
  '\u01f2': '\u01f2',
  '\u01f3': '\u01f2',
};

/** Georgian Mkhedruli: titlecase is the letter itself (Unicode 11 gave it an uppercase, not a titlecase). */
const isMkhedruli = (cp: number): boolean => (cp >= 0x10d0 && cp <= 0x10fa) || (cp >= 0x10fd && cp <= 0x10ff);

/** Simple (one-character) uppercase, or the character itself. */
function simpleUpper(ch: string): string {
  const up = ch.toUpperCase();
  return up === ch || [...up].length !== 1 ? ch : up;
}

/** UnicodeData field 14 is set: the character has a titlecase mapping (possibly to itself). */
const hasTitlecase = (ch: string): boolean =>
  TITLE[ch] !== undefined || isMkhedruli(ch.codePointAt(0) as number) || simpleUpper(ch) !== ch;

/** One level of UnicodeData decomposition (canonical or compatibility), not applied recursively. */
function decomposeOnce(ch: string): string {
  const nfd = ch.normalize('NFD');
  if (nfd === ch) return ch.normalize('NFKD');
  const nfc = ch.normalize('NFC');
  if (nfc !== ch) return nfc; // a singleton or an excluded composition
  const cps = [...nfd];
  if (cps.length === 2) return nfd;
  const last = cps.pop() as string;
  const first = cps.join('').normalize('NFC');
  return [...first].length === 1 && (first + last).normalize('NFC') === ch ? first + last : nfd;
}

/**
 * RFC 5051 §2 i;unicode-casemap, as Dovecot computes it (and so sorts): each
 * character to its simple titlecase, then — unless that has a titlecase
 * mapping of its own (ǅ) — one level of its decomposition; Hangul syllables
 * into jamo. Decomposed parts are not titlecased again (ﬁ → "fi").
 */
export function titlecaseDecomposed(s: string): string {
  // ASCII: titlecase is uppercase, and nothing decomposes.
  if (/^[\x00-\x7f]*$/.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) out += ch.toUpperCase();
    else if (cp >= 0xac00 && cp <= 0xd7a3) out += ch.normalize('NFD');
    else {
      const t = TITLE[ch] ?? (isMkhedruli(cp) ? ch : simpleUpper(ch));
      out += hasTitlecase(t) ? t : decomposeOnce(t);
    }
  }
  return out;
}
