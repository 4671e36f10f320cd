// BODY[section]<partial> (RFC 3501 §6.4.5) served straight from the file bytes
// using the part offsets of the index.
//
// Section text is sent in CRLF form (RFC 3501 §2.3.1 / RFC 5322 §2.3): a bare
// LF goes out as CRLF, a bare CR unchanged, NUL as 0x80 (NUL is not allowed in
// IMAP literals, RFC 3501 §4.3). Partial offsets count bytes of that form. A
// section of a part that does not exist, or past the end, is empty.

import { nextHeader } from './header-parser.js';
import { type MessageIndex, PartFlag, type PartNode } from './types.js';

export interface SectionSpec {
  /** Part path, e.g. [4, 2, 1]; empty for the whole message. */
  path: number[];
  /** What of the part: its body, HEADER, TEXT, MIME, HEADER.FIELDS, HEADER.FIELDS.NOT. */
  kind: 'body' | 'header' | 'text' | 'mime' | 'fields' | 'fields.not';
  /** Field names for HEADER.FIELDS (.NOT). */
  fields: string[];
  partial?: { offset: number; length: number };
}

const SECTION_RE =
  /^((?:\d+\.)*\d+)?(?:^|\.|$)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?\s*(?:\(([^)]*)\))?$/i;

/** Parses the text between `[` and `]`, plus an optional `<offset.length>`. */
export function parseSection(section: string, partial?: string): SectionSpec {
  const m = SECTION_RE.exec(section.trim());
  if (!m) throw new Error('invalid section');
  const path = m[1] ? m[1].split('.').map(Number) : [];
  const word = (m[2] ?? '').toUpperCase();
  const kind: SectionSpec['kind'] =
    word === 'HEADER.FIELDS.NOT'
      ? 'fields.not'
      : word === 'HEADER.FIELDS'
        ? 'fields'
        : word === 'HEADER'
          ? 'header'
          : word === 'TEXT'
            ? 'text'
            : word === 'MIME'
              ? 'mime'
              : 'body';
  if (kind === 'mime' && path.length === 0) throw new Error('MIME needs a part number');
  const fields = m[3] ? m[3].trim().split(/\s+/).filter(Boolean).map(unquote) : [];
  if ((kind === 'fields' || kind === 'fields.not') && fields.length === 0)
    throw new Error('no header fields');
  const spec: SectionSpec = { path, kind, fields };
  if (partial) {
    const pm = /^<?(\d+)\.(\d+)>?$/.exec(partial);
    if (!pm) throw new Error('invalid partial');
    spec.partial = { offset: Number(pm[1]), length: Number(pm[2]) };
  }
  return spec;
}

const unquote = (s: string): string => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/**
 * RFC 3501 §6.4.5 part numbering: the parts of a multipart are 1..n; a
 * non-multipart message has only part 1 (itself); the parts of a
 * message/rfc822 part are those of the message it encloses.
 */
export function findPart(root: PartNode, path: number[]): PartNode | null {
  let part: PartNode | undefined = root;
  for (let i = 0; i < path.length; i++) {
    const num = path[i] as number;
    // Between path components, a message/rfc822 part stands for the message it encloses.
    if (i > 0 && part.flags & PartFlag.MESSAGE_RFC822) {
      part = part.children[0];
      if (!part) return null;
    }
    if (part.flags & PartFlag.MULTIPART) {
      part = part.children[num - 1];
      if (!part) return null;
    } else if (num !== 1) {
      return null;
    }
  }
  return part;
}

/** The section's bytes in CRLF form, before any partial range. */
function sectionBytes(buf: Buffer, index: MessageIndex, spec: SectionSpec): Buffer {
  const part = findPart(index.root, spec.path);
  if (!part) return Buffer.alloc(0);
  if (spec.kind === 'body') {
    if (spec.path.length === 0) return toWire(buf, 0, buf.length);
    const start = part.pos + part.header.physical;
    return toWire(buf, start, start + part.body.physical);
  }
  if (spec.kind === 'mime') return toWire(buf, part.pos, part.pos + part.header.physical);
  // HEADER / TEXT / HEADER.FIELDS apply to a message: the root or the message
  // enclosed by a message/rfc822 part.
  let msg: PartNode | undefined = part;
  if (spec.path.length > 0) {
    msg = part.flags & PartFlag.MESSAGE_RFC822 ? part.children[0] : undefined;
    if (!msg) return Buffer.alloc(0);
  }
  const hdrEnd = msg.pos + msg.header.physical;
  if (spec.kind === 'header') return toWire(buf, msg.pos, hdrEnd);
  if (spec.kind === 'text') return toWire(buf, hdrEnd, hdrEnd + msg.body.physical);
  const root = spec.path.length === 0;
  return headerFields(buf, msg.pos, spec.fields, spec.kind === 'fields.not', root && spec.kind === 'fields');
}

/**
 * HEADER.FIELDS (.NOT): the matching fields as written, then the empty line
 * that ends the header, if there is one. The header is read up to that empty
 * line (or the end of the file), not only up to the part's recorded end.
 */
export function headerFields(
  buf: Buffer,
  start: number,
  names: string[],
  not: boolean,
  addMissingEoh = false,
): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const s = buf.toString('latin1');
  const out: Buffer[] = [];
  let p = start;
  let sawEoh = false;
  for (;;) {
    const step = nextHeader(s, p, 0);
    if (step.kind === 'eof') break;
    if (step.kind === 'eoh') {
      out.push(toWire(buf, p, step.end));
      sawEoh = true;
      break;
    }
    const f = step.field;
    p = f.end;
    if (wanted.has(f.name.toLowerCase()) === not) continue;
    out.push(toWire(buf, f.start, f.end));
  }
  // For the message's own header, HEADER.FIELDS ends with an empty line even
  // when the header has none (the stream adds an LF, sent in CRLF form).
  if (addMissingEoh && !sawEoh) {
    const last = out.at(-1);
    out.push(last && last[last.length - 1] === 13 ? LF : CRLF);
  }
  return Buffer.concat(out);
}

const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');

/** Copies file bytes [start, end) in CRLF form, NUL as 0x80. */
export function toWire(buf: Buffer, start: number, end: number): Buffer {
  end = Math.min(end, buf.length);
  if (end <= start) return Buffer.alloc(0);
  const src = buf.subarray(start, end);
  let extra = 0;
  let hasNul = false;
  for (let i = src.indexOf(10); i >= 0; i = src.indexOf(10, i + 1)) {
    if ((i === 0 ? (start > 0 ? buf[start - 1] : -1) : src[i - 1]) !== 13) extra++;
  }
  if (src.includes(0)) hasNul = true;
  if (extra === 0 && !hasNul) return Buffer.from(src);
  const out = Buffer.allocUnsafe(src.length + extra);
  // Copied a line at a time (a message with LF line ends is every file here), CR put before each bare LF.
  let o = 0;
  let from = 0;
  for (let i = src.indexOf(10); i >= 0; i = src.indexOf(10, i + 1)) {
    if ((i === 0 ? (start > 0 ? buf[start - 1] : -1) : src[i - 1]) !== 13) {
      o += src.copy(out, o, from, i);
      out[o++] = 13;
      from = i;
    }
  }
  o += src.copy(out, o, from);
  if (hasNul) for (let i = out.indexOf(0); i >= 0; i = out.indexOf(0, i + 1)) out[i] = 0x80;
  return out;
}

/** BODY[section]<partial> content. `spec` is a SectionSpec or the text between the brackets. */
export function fetchSection(buf: Buffer, index: MessageIndex, spec: SectionSpec | string): Buffer {
  const s = typeof spec === 'string' ? parseSection(spec) : spec;
  const bytes = sectionBytes(buf, index, s);
  if (!s.partial) return bytes;
  const { offset, length } = s.partial;
  if (offset >= bytes.length) return Buffer.alloc(0);
  return bytes.subarray(offset, Math.min(bytes.length, offset + length));
}
