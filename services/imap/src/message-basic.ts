// Interim MIME reading for FETCH (until @postamt/mime is installed): splits
// header and body, walks multipart boundaries and message/rfc822, depth- and
// part-capped. Section bytes are slices of the original buffer (served exactly,
// never recomposed). ENVELOPE/BODYSTRUCTURE follow RFC 3501 §7.4.2 but are not
// yet checked byte for byte against Dovecot (that is the corpus test's job).
import type { ParsedMessage } from './message.js';
import type { Section } from './protocol/fetch-args.js';
import { raw, type Wire } from './protocol/serialize.js';

const MAX_DEPTH = 20;
const MAX_PARTS = 500;

interface Part {
  header: Buffer;
  body: Buffer;
  fields: Array<[string, string]>;
  type: string;
  subtype: string;
  params: Array<[string, string]>;
  children: Part[];
  /** The encapsulated message of a message/rfc822 part. */
  message: Part | null;
}

function splitHeader(buf: Buffer): [Buffer, Buffer] {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [buf.subarray(0, crlf + 4), buf.subarray(crlf + 4)];
  if (lf >= 0) return [buf.subarray(0, lf + 2), buf.subarray(lf + 2)];
  if (buf.subarray(0, 2).toString() === '\r\n') return [buf.subarray(0, 2), buf.subarray(2)];
  return [buf, Buffer.alloc(0)];
}

function parseFields(header: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of header.toString('latin1').split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([
      line.slice(0, colon).trim().toLowerCase(),
      line
        .slice(colon + 1)
        .replace(/\r?\n/g, '')
        .trim(),
    ]);
  }
  return out;
}

function parseContentType(
  value: string | undefined,
  dflt: string,
): [string, string, Array<[string, string]>] {
  const [typePart, ...rest] = (value ?? dflt).split(';');
  const [t, s] = (typePart ?? '').trim().toLowerCase().split('/');
  const params: Array<[string, string]> = [];
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params.push([
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      ]);
  }
  if (!t || !s) return parseContentType(dflt, dflt);
  return [t, s, params];
}

function parsePart(buf: Buffer, depth: number, counter: { n: number }, dflt = 'text/plain'): Part {
  const [header, body] = splitHeader(buf);
  const fields = parseFields(header);
  const [type, subtype, params] = parseContentType(fields.find(([k]) => k === 'content-type')?.[1], dflt);
  const part: Part = { header, body, fields, type, subtype, params, children: [], message: null };
  if (++counter.n > MAX_PARTS || depth > MAX_DEPTH) return part;
  const boundary = params.find(([k]) => k === 'boundary')?.[1];
  if (type === 'multipart' && boundary) {
    const delim = Buffer.from(`--${boundary}`);
    let pos = body.indexOf(delim);
    while (pos >= 0) {
      const lineEnd = body.indexOf('\n', pos);
      if (lineEnd < 0 || body.subarray(pos + delim.length, pos + delim.length + 2).toString() === '--') break;
      let next = body.indexOf(Buffer.concat([Buffer.from('\n'), delim]), lineEnd);
      const end = next < 0 ? body.length : body[next - 1] === 0x0d ? next - 1 : next;
      const childDefault = subtype === 'digest' ? 'message/rfc822' : 'text/plain';
      part.children.push(parsePart(body.subarray(lineEnd + 1, end), depth + 1, counter, childDefault));
      pos = next < 0 ? -1 : next + 1;
      next = pos;
    }
  } else if (type === 'message' && subtype === 'rfc822') {
    part.message = parsePart(body, depth + 1, counter);
  }
  return part;
}

const field = (p: Part, name: string): string | undefined => p.fields.find(([k]) => k === name)?.[1];
const nstr = (v: string | undefined): Wire => (v === undefined || v === '' ? null : v);

/** RFC 3501 §7.4.2 address structure; groups per RFC 3501 ("NIL NIL name NIL" … end marker). */
function addresses(value: string | undefined): Wire {
  if (!value) return null;
  const out: Wire[] = [];
  const items = value.match(/(?:"(?:[^"\\]|\\.)*"|<[^>]*>|[^,"<])+/g) ?? [];
  for (const item of items) {
    const m = /^(.*?)<([^>]*)>\s*$/.exec(item.trim());
    const name = m ? (m[1] as string).trim().replace(/^"(.*)"$/, '$1') : '';
    const addr = (m ? (m[2] as string) : item).trim();
    const at = addr.lastIndexOf('@');
    if (!addr) continue;
    out.push([nstr(name), null, at > 0 ? addr.slice(0, at) : addr, at > 0 ? addr.slice(at + 1) : null]);
  }
  return out.length ? out : null;
}

function envelopeOf(p: Part): Wire {
  const from = field(p, 'from');
  return [
    nstr(field(p, 'date')),
    nstr(field(p, 'subject')),
    addresses(from),
    addresses(field(p, 'sender') ?? from),
    addresses(field(p, 'reply-to') ?? from),
    addresses(field(p, 'to')),
    addresses(field(p, 'cc')),
    addresses(field(p, 'bcc')),
    nstr(field(p, 'in-reply-to')),
    nstr(field(p, 'message-id')),
  ];
}

const paramList = (params: Array<[string, string]>): Wire =>
  params.length ? params.flatMap(([k, v]) => [k.toUpperCase(), v]) : null;
const lines = (b: Buffer): number => b.toString('latin1').split('\n').length - 1;

function structure(p: Part, ext: boolean): Wire {
  if (p.children.length) {
    const out: Wire[] = p.children.map((c) => structure(c, ext));
    out.push(p.subtype.toUpperCase());
    if (ext) out.push(paramList(p.params.filter(([k]) => k === 'boundary')), null, null, null);
    return out;
  }
  const out: Wire[] = [
    p.type.toUpperCase(),
    p.subtype.toUpperCase(),
    paramList(p.params.filter(([k]) => k !== 'boundary')),
    nstr(field(p, 'content-id')),
    nstr(field(p, 'content-description')),
    (field(p, 'content-transfer-encoding') ?? '7bit').toUpperCase(),
    p.body.length,
  ];
  if (p.message) out.push(envelopeOf(p.message), structure(p.message, ext), lines(p.body));
  else if (p.type === 'text') out.push(lines(p.body));
  if (ext) out.push(nstr(field(p, 'content-md5')), null, null, null);
  return out;
}

function navigate(root: Part, path: number[]): Part | null {
  let cur: Part = root;
  for (const n of path) {
    const container: Part = cur.message && cur !== root ? cur.message : cur;
    if (container.children.length) {
      const next = container.children[n - 1];
      if (!next) return null;
      cur = next;
    } else if (n === 1 && (cur === root || container !== cur)) {
      // A non-multipart message has one part, itself (RFC 3501 §6.4.5).
      cur = container === cur ? cur : container;
      if (cur === root) return { ...root, fields: [], header: Buffer.alloc(0) };
    } else return null;
  }
  return cur;
}

function headerFields(header: Buffer, names: string[], not: boolean): Buffer {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const text = header.toString('latin1');
  const picked = text.split(/(?<=\n)(?![ \t])/).filter((l) => {
    const colon = l.indexOf(':');
    if (colon <= 0) return false;
    return want.has(l.slice(0, colon).trim().toLowerCase()) !== not;
  });
  return Buffer.from(`${picked.join('')}\r\n`, 'latin1');
}

export function parseBasic(rawMsg: Buffer): ParsedMessage {
  const root = parsePart(rawMsg, 0, { n: 0 });
  return {
    envelope: () => envelopeOf(root),
    bodyStructure: (extended) => structure(root, extended),
    headerValues: (name) => root.fields.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v),
    bodyText: () => root.body.toString('utf8'),
    section(s: Section): Buffer | null {
      const part = s.part.length ? navigate(root, s.part) : root;
      if (!part) return null;
      if (s.text === 'MIME') return part.header;
      if (s.text === null) return s.part.length ? part.body : rawMsg;
      const msg = s.part.length ? part.message : root;
      if (!msg) return null;
      if (s.text === 'TEXT') return msg.body;
      if (s.text === 'HEADER') return msg.header;
      return headerFields(msg.header, s.fields, s.text === 'HEADER.FIELDS.NOT');
    },
  };
}

export const rawAtom = raw;
