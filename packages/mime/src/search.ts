// Helpers for the message-only SEARCH keys of RFC 3501 §6.4.4: SUBJECT, FROM,
// TO, CC, BCC and HEADER match the decoded header value (RFC 2047 encoded
// words decoded, raw 8-bit taken as UTF-8); BODY and TEXT match the decoded
// content (RFC 2045 §6 transfer encodings undone, charset converted) of text/*
// and message/* parts only. Matching is a case-insensitive substring test
// ("In all search keys that use strings ... case-insensitive", RFC 3501 §6.4.4).
// Flags, dates and sizes are mailbox state and are evaluated by the server.

import libmime from 'libmime';
import { parseAddressList } from './address.js';
import { readHeaderFields } from './header-parser.js';
import { toWire } from './sections.js';
import { type MessageIndex, PartFlag, type PartNode } from './types.js';

/** A binary string (one char per byte) read as UTF-8; invalid bytes become U+FFFD. */
function bytesToText(bin: string): string {
  if (!/[\x80-\xff]/.test(bin)) return bin;
  return UTF8.decode(Buffer.from(bin, 'latin1'));
}

/** Decoders are made once per charset: decode() without `stream` keeps no state between calls. */
const UTF8 = new TextDecoder('utf-8');
const decoders = new Map<string, InstanceType<typeof TextDecoder>>([['utf-8', UTF8]]);

/** Unfolds (RFC 5322 §2.2.3) and decodes encoded words (RFC 2047) of a raw header value. */
export function decodeHeaderValue(raw: string): string {
  const unfolded = raw.replace(/\r?\n(?=[ \t])/g, '');
  const text = bytesToText(unfolded);
  // decodeWords changes only encoded words (=?…) and its own NUL-marked joins: most values have neither.
  if (!text.includes('=?') && !text.includes('\0')) return text;
  try {
    return libmime.decodeWords(text);
  } catch {
    return bytesToText(unfolded);
  }
}

/** Decoded values of the message's header fields named `name` (case-insensitive). */
export function headerValues(buf: Buffer, index: MessageIndex, name: string): string[] {
  const root = index.root;
  return headerValuesIn(buf.toString('latin1', 0, root.pos + root.header.physical), root.pos, name);
}

/** headerValues of a header block given as a binary string, from `start` to its end. */
function headerValuesIn(s: string, start: number, name: string): string[] {
  const want = name.toLowerCase();
  return readHeaderFields(s, start, s.length)
    .filter((f) => f.name.toLowerCase() === want)
    .map((f) => decodeHeaderValue(f.name === '' ? f.value : stripLeadingWs(f.value)));
}

const stripLeadingWs = (v: string): string => v.replace(/^[ \t]+/, '');

/**
 * FROM/TO/CC/BCC match the address list as parsed and written back (as
 * Dovecot does), so addresses a syntax error dropped and the placeholders
 * that replaced broken parts are what is searched, like ENVELOPE shows.
 */
export function addressValues(buf: Buffer, index: MessageIndex, name: string): string[] {
  const root = index.root;
  return addressValuesIn(buf.toString('latin1', 0, root.pos + root.header.physical), root.pos, name);
}

function addressValuesIn(s: string, start: number, name: string): string[] {
  const want = name.toLowerCase();
  return readHeaderFields(s, start, s.length)
    .filter((f) => f.name.toLowerCase() === want)
    .map((f) => {
      const parts: string[] = [];
      for (const a of parseAddressList(f.value.replace(/\r?\n(?=[ \t])/g, ''))) {
        if (a.mailbox === null && a.domain === null)
          parts.push(';'); // group end
        else if (a.domain === null)
          parts.push(`${a.mailbox}:`); // group start
        else {
          const spec = `${a.route ? `${a.route}:` : ''}${a.mailbox}@${a.domain}`;
          parts.push(a.name ? `${a.name} <${spec}>` : spec);
        }
      }
      return decodeHeaderValue(parts.join(', '));
    });
}

/** Undoes a Content-Transfer-Encoding (RFC 2045 §6.7 quoted-printable, §6.8 base64). */
export function decodeTransfer(body: Buffer, encoding: string | null): Buffer {
  const enc = (encoding ?? '7bit').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (enc !== 'quoted-printable') return body;
  // On the bytes, a run at a time: first the soft line breaks go (as replace(/=\r?\n/g, '') would),
  // then =XX becomes its octet; any other '=' stays.
  const joined = Buffer.allocUnsafe(body.length);
  let n = 0;
  let from = 0;
  for (let i = body.indexOf(0x3d); i >= 0; i = body.indexOf(0x3d, i + 1)) {
    const soft = body[i + 1] === 0x0a ? 2 : body[i + 1] === 0x0d && body[i + 2] === 0x0a ? 3 : 0;
    if (!soft) continue;
    n += body.copy(joined, n, from, i);
    from = i + soft;
    i = from - 1;
  }
  n += body.copy(joined, n, from);
  const src = joined.subarray(0, n);
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  from = 0;
  for (let i = src.indexOf(0x3d); i >= 0; i = src.indexOf(0x3d, from)) {
    o += src.copy(out, o, from, i);
    const hi = hexValue(src[i + 1] ?? -1);
    const lo = hexValue(src[i + 2] ?? -1);
    if (hi >= 0 && lo >= 0) {
      out[o++] = hi * 16 + lo;
      from = i + 3;
    } else {
      out[o++] = 0x3d;
      from = i + 1;
    }
  }
  o += src.copy(out, o, from);
  return out.subarray(0, o);
}

/** 0–15 for an ASCII hex digit's code, else -1 (NaN, past the end, too). */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Converts body bytes in `charset` to text; unknown charsets are read as UTF-8. */
export function decodeCharset(bytes: Buffer, charset: string | null): string {
  const name = (charset ?? 'us-ascii').trim().toLowerCase();
  const label = name === 'us-ascii' ? 'utf-8' : name;
  let decoder = decoders.get(label);
  if (!decoder) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      return UTF8.decode(bytes);
    }
    if (decoders.size < 64) decoders.set(label, decoder);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    return UTF8.decode(bytes);
  }
}

function charsetOf(part: PartNode): string | null {
  return part.data.params.find((p) => p.name.toLowerCase() === 'charset')?.value ?? null;
}

/**
 * Charsets whose decoders read each byte below 0x80 as itself, with no state
 * across lines: in these, a CR put before an LF (the CRLF form) decodes to
 * just that CR, next to the same text as without it.
 */
const LINE_SAFE = /^(us-ascii|ascii|utf-?8|iso[-_]?8859-\d+|latin1|windows-125\d|cp125\d)$/;

const isLineSafe = (charset: string | null): boolean =>
  LINE_SAFE.test((charset ?? 'us-ascii').trim().toLowerCase());

function hasNul(buf: Buffer, start: number, end: number): boolean {
  const at = buf.indexOf(0, start);
  return at >= 0 && at < end;
}

/**
 * Decoded text of every text/* leaf and every message/* part's header and text, in order.
 * `asStored`: the body as in the file, not in CRLF form — for a search
 * string without CR and LF the same answer (the only difference is a CR
 * before each bare LF), without copying every body; parts where that does
 * not hold (a NUL byte, which the CRLF form changes, or a charset not
 * LINE_SAFE) are still converted.
 */
export function textParts(buf: Buffer, index: MessageIndex, asStored = false): string[] {
  const out: string[] = [];
  const walk = (part: PartNode): void => {
    if (part.flags & PartFlag.MULTIPART) {
      for (const c of part.children) walk(c);
      return;
    }
    if (part.flags & PartFlag.MESSAGE_RFC822) {
      const child = part.children[0];
      if (child) {
        out.push(decodeHeaderValue(buf.toString('latin1', child.pos, child.pos + child.header.physical)));
        walk(child);
      }
      return;
    }
    const type = (part.data.type ?? 'text').toLowerCase();
    if (type !== 'text' && type !== 'message') return;
    const start = part.pos + part.header.physical;
    const end = Math.min(start + part.body.physical, buf.length);
    const charset = charsetOf(part);
    const keep = asStored && end > start && isLineSafe(charset) && !hasNul(buf, start, end);
    const raw = keep ? buf.subarray(start, end) : toWire(buf, start, end);
    out.push(decodeCharset(decodeTransfer(raw, part.data.encoding), charset));
  };
  walk(index.root);
  return out;
}

/** Decoded header blocks of a part and all parts below it. */
function allHeaders(buf: Buffer, part: PartNode): string[] {
  const own = decodeHeaderValue(buf.toString('latin1', part.pos, part.pos + part.header.physical));
  return [own, ...part.children.flatMap((c) => allHeaders(buf, c))];
}

// ASCII text is its own NFC form: skip the (costly) normalisation of most bodies.
// (A string is ASCII when its UTF-8 form has as many bytes as it has code units:
// a native count, several times faster than a regular expression over a body.)
const fold = (s: string): string =>
  (Buffer.byteLength(s) === s.length ? s : s.normalize('NFC')).toLowerCase();

function contains(haystacks: string[], needle: string): boolean {
  const n = foldedNeedle(needle);
  return haystacks.some((h) => fold(h).includes(n));
}

export type SearchKey = 'SUBJECT' | 'FROM' | 'TO' | 'CC' | 'BCC' | 'HEADER' | 'BODY' | 'TEXT';
export type HeaderSearchKey = Exclude<SearchKey, 'BODY' | 'TEXT'>;

/**
 * What a header key is matched against: the decoded values, case-folded.
 * Split from the test (haystacksMatch) so a server can keep them for a
 * message and answer the next search over the same field without parsing.
 */
export function headerHaystacks(
  buf: Buffer,
  index: MessageIndex,
  key: HeaderSearchKey,
  field?: string,
): string[] {
  const root = index.root;
  return headerTextHaystacks(
    buf.toString('latin1', 0, root.pos + root.header.physical),
    root.pos,
    key,
    field,
  );
}

/** headerHaystacks of a header block given as a binary string (e.g. cached fields), from `start`. */
export function headerTextHaystacks(
  s: string,
  start: number,
  key: HeaderSearchKey,
  field?: string,
): string[] {
  const values =
    key === 'SUBJECT'
      ? headerValuesIn(s, start, key)
      : key === 'HEADER'
        ? headerValuesIn(s, start, field ?? '')
        : addressValuesIn(s, start, key);
  return values.map(fold);
}

/** The test of searchMatches for a header key, on headerHaystacks' output. */
export function haystacksMatch(haystacks: readonly string[], key: HeaderSearchKey, value: string): boolean {
  if (key === 'HEADER' && value === '') return haystacks.length > 0;
  const n = foldedNeedle(value);
  return haystacks.some((h) => h.includes(n));
}

/** The last search string folded: a SEARCH asks the same of every message of the folder. */
let lastNeedle = { value: '', folded: '' };
function foldedNeedle(value: string): string {
  if (value !== lastNeedle.value) lastNeedle = { value, folded: fold(value) };
  return lastNeedle.folded;
}

/**
 * Evaluates one message-only SEARCH key. `value` is the search string as text;
 * `field` is the header name for HEADER. HEADER with an empty value matches
 * every message that has the field (RFC 3501 §6.4.4).
 */
export function searchMatches(
  buf: Buffer,
  index: MessageIndex,
  key: SearchKey,
  value: string,
  field?: string,
): boolean {
  switch (key) {
    case 'SUBJECT':
    case 'FROM':
    case 'TO':
    case 'CC':
    case 'BCC':
    case 'HEADER':
      return haystacksMatch(headerHaystacks(buf, index, key, field), key, value);
    case 'BODY':
    case 'TEXT': {
      if (value === '') return true;
      // Bodies as stored unless the string could see the CRLF form (textParts).
      const asStored = !/[\r\n]/.test(value);
      const bodies = textParts(buf, index, asStored);
      // RFC 3501 §6.4.4 TEXT: "in the header or body", MIME headers of the parts included.
      return contains(key === 'TEXT' ? [...allHeaders(buf, index.root), ...bodies] : bodies, value);
    }
  }
}
