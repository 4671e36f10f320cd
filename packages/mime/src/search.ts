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
  return new TextDecoder('utf-8').decode(Buffer.from(bin, 'latin1'));
}

/** Unfolds (RFC 5322 §2.2.3) and decodes encoded words (RFC 2047) of a raw header value. */
export function decodeHeaderValue(raw: string): string {
  const unfolded = raw.replace(/\r?\n(?=[ \t])/g, '');
  try {
    return libmime.decodeWords(bytesToText(unfolded));
  } catch {
    return bytesToText(unfolded);
  }
}

/** Decoded values of the message's header fields named `name` (case-insensitive). */
export function headerValues(buf: Buffer, index: MessageIndex, name: string): string[] {
  const root = index.root;
  const s = buf.toString('latin1', 0, root.pos + root.header.physical);
  const want = name.toLowerCase();
  return readHeaderFields(s, root.pos, s.length)
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
  const s = buf.toString('latin1', 0, root.pos + root.header.physical);
  const want = name.toLowerCase();
  return readHeaderFields(s, root.pos, s.length)
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
  const s = body.toString('latin1').replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c);
  }
  return Buffer.from(out);
}

/** Converts body bytes in `charset` to text; unknown charsets are read as UTF-8. */
export function decodeCharset(bytes: Buffer, charset: string | null): string {
  const name = (charset ?? 'us-ascii').trim().toLowerCase();
  try {
    return new TextDecoder(name === 'us-ascii' ? 'utf-8' : name).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function charsetOf(part: PartNode): string | null {
  return part.data.params.find((p) => p.name.toLowerCase() === 'charset')?.value ?? null;
}

/** Decoded text of every text/* leaf and every message/* part's header and text, in order. */
export function textParts(buf: Buffer, index: MessageIndex): string[] {
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
    const raw = toWire(buf, start, start + part.body.physical);
    out.push(decodeCharset(decodeTransfer(raw, part.data.encoding), charsetOf(part)));
  };
  walk(index.root);
  return out;
}

/** Decoded header blocks of a part and all parts below it. */
function allHeaders(buf: Buffer, part: PartNode): string[] {
  const own = decodeHeaderValue(buf.toString('latin1', part.pos, part.pos + part.header.physical));
  return [own, ...part.children.flatMap((c) => allHeaders(buf, c))];
}

const fold = (s: string): string => s.normalize('NFC').toLowerCase();

function contains(haystacks: string[], needle: string): boolean {
  const n = fold(needle);
  return haystacks.some((h) => fold(h).includes(n));
}

export type SearchKey = 'SUBJECT' | 'FROM' | 'TO' | 'CC' | 'BCC' | 'HEADER' | 'BODY' | 'TEXT';

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
      return contains(headerValues(buf, index, key), value);
    case 'FROM':
    case 'TO':
    case 'CC':
    case 'BCC':
      return contains(addressValues(buf, index, key), value);
    case 'HEADER': {
      const values = headerValues(buf, index, field ?? '');
      return value === '' ? values.length > 0 : contains(values, value);
    }
    case 'BODY':
      return value === '' || contains(textParts(buf, index), value);
    case 'TEXT':
      // RFC 3501 §6.4.4 TEXT: "in the header or body", MIME headers of the parts included.
      return value === '' || contains([...allHeaders(buf, index.root), ...textParts(buf, index)], value);
  }
}
