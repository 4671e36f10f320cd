// Walks a message's MIME structure (RFC 2046 §5.1) line by line and collects
// attachment names: `filename` of Content-Disposition and `name` of
// Content-Type, plus the names inside base64 ZIP attachments. Streaming, with
// bounded memory: only ZIP parts up to `maxArchiveBytes` are held.
import type { Readable } from 'node:stream';
import { parseParams } from './params.js';
import { zipNames } from './zip-names.js';

interface PartHeader {
  contentType: string;
  encoding: string;
  filename: string | null;
  boundary: string | null;
}

function parseHeader(lines: string[]): PartHeader {
  const fields = new Map<string, string>();
  let last = '';
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      fields.set(last, `${fields.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  }
  const ct = fields.get('content-type') ?? 'text/plain';
  const cd = fields.get('content-disposition') ?? '';
  const ctParams = parseParams(ct.slice(ct.indexOf(';') < 0 ? ct.length : ct.indexOf(';')));
  const cdParams = parseParams(cd.slice(cd.indexOf(';') < 0 ? cd.length : cd.indexOf(';')));
  return {
    contentType: (ct.split(';')[0] ?? '').trim().toLowerCase(),
    encoding: (fields.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase(),
    filename: cdParams.get('filename') ?? ctParams.get('name') ?? null,
    boundary: /^multipart\//i.test(ct) ? (ctParams.get('boundary') ?? null) : null,
  };
}

function isZip(h: PartHeader): boolean {
  return /zip/.test(h.contentType) || /\.zip$/i.test(h.filename ?? '');
}

export async function attachmentNames(
  /** The message: a stream, or the bytes when held in memory (no stream to set up then). */
  source: Readable | Buffer,
  maxArchiveBytes = 10 * 1024 * 1024,
): Promise<string[]> {
  const names: string[] = [];
  const boundaries = new Set<string>();
  let inHeader = true;
  let header: string[] = [];
  let zip: string[] | null = null;
  let zipSize = 0;
  let rest = '';

  const endPart = () => {
    if (zip) {
      for (const n of zipNames(Buffer.from(zip.join(''), 'base64'))) names.push(n);
      zip = null;
      zipSize = 0;
    }
  };
  const onLine = (line: string) => {
    if (line.startsWith('--')) {
      const b = line.slice(2).trimEnd();
      const closing = b.endsWith('--') && boundaries.has(b.slice(0, -2));
      if (boundaries.has(b) || closing) {
        endPart();
        inHeader = !closing;
        header = [];
        return;
      }
    }
    if (inHeader) {
      if (line !== '') {
        if (header.length < 200) header.push(line);
        return;
      }
      inHeader = false;
      const h = parseHeader(header);
      if (h.boundary) boundaries.add(h.boundary);
      if (h.filename) names.push(h.filename);
      if (isZip(h) && h.encoding === 'base64') zip = [];
      // RFC 2046 §5.2.1: a message/rfc822 body is a whole message; walk its header too.
      if (h.contentType === 'message/rfc822') {
        inHeader = true;
        header = [];
      }
      return;
    }
    if (zip) {
      zipSize += line.length;
      if (zipSize > (maxArchiveBytes * 4) / 3) zip = null;
      else zip.push(line.trim());
    }
  };

  for await (const chunk of Buffer.isBuffer(source) ? [source] : source) {
    const text = rest + (chunk as Buffer).toString('latin1');
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    // A line longer than any sane MIME line is body data, not structure.
    if (rest.length > 100_000) rest = '';
    for (const l of lines) onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
  }
  if (rest) onLine(rest);
  endPart();
  return names;
}

/** The banned names among `names`: extension after the last dot, case-insensitive. */
export function bannedNames(names: string[], extensions: string[]): string[] {
  if (extensions.length === 0) return [];
  const banned = new Set(extensions.map((e) => e.toLowerCase().replace(/^\./, '')));
  return names.filter((n) => {
    const base = n.replace(/[\s.]+$/, '').toLowerCase();
    const dot = base.lastIndexOf('.');
    return dot >= 0 && banned.has(base.slice(dot + 1));
  });
}
