// Replays the recorded FETCH commands of the corpus against the indexer and
// renders each response the way the IMAP server will (one FETCH line with the
// UID first), so it can be compared byte for byte with Dovecot's answer.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchSection, indexMessage, literal, type MessageIndex, parseSection } from '../src/index.js';

export const CORPUS = join(import.meta.dirname, 'fixtures/corpus');

export interface GoldenLine {
  file: string | null;
  uid: number | null;
  label: string;
  command: string;
  response: string;
}

export function loadJsonl(name: string): GoldenLine[] {
  return readFileSync(join(CORPUS, name), 'latin1')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as GoldenLine);
}

export function loadMessage(file: string): Buffer {
  return readFileSync(join(CORPUS, 'messages', file));
}

/** Splits a FETCH item list on spaces outside brackets and parentheses. */
export function splitItems(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '[' || ch === '(') depth++;
    if (ch === ']' || ch === ')') depth--;
    if (ch === ' ' && depth === 0) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** One FETCH data item as the server sends it, or null when not ours to answer. */
export function renderItem(item: string, buf: Buffer, index: MessageIndex): string | null {
  const upper = item.toUpperCase();
  if (upper === 'RFC822.SIZE') return `RFC822.SIZE ${index.size}`;
  if (upper === 'ENVELOPE') return `ENVELOPE (${index.envelope})`;
  if (upper === 'BODYSTRUCTURE') return `BODYSTRUCTURE (${index.bodystructure})`;
  if (upper === 'BODY') return `BODY (${index.body})`;
  if (upper === 'RFC822.HEADER')
    return `RFC822.HEADER ${literal(fetchSection(buf, index, 'HEADER').toString('latin1'))}`;
  const m = /^BODY(?:\.PEEK)?\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$/i.exec(item);
  if (!m) return null;
  const section = m[1] ?? '';
  const partial = m[2] !== undefined ? `${m[2]}.${m[3]}` : undefined;
  const bytes = fetchSection(buf, index, parseSection(section, partial));
  const origin = m[2] !== undefined ? `<${m[2]}>` : '';
  return `BODY[${section}]${origin} ${literal(bytes.toString('latin1'))}`;
}

/** The whole untagged response for a `UID FETCH n (items)` command, or null if not covered. */
export function renderFetch(command: string, buf: Buffer, index: MessageIndex): string | null {
  const m = /^UID FETCH (\d+) \((.*)\)$/s.exec(command);
  if (!m) return null;
  const uid = m[1];
  const parts: string[] = [];
  for (const item of splitItems(m[2] ?? '')) {
    const r = renderItem(item, buf, index);
    if (r === null) return null;
    parts.push(r);
  }
  return `* ${uid} FETCH (UID ${uid} ${parts.join(' ')})\r\n`;
}

export function indexFile(file: string): { buf: Buffer; index: MessageIndex } {
  const buf = loadMessage(file);
  return { buf, index: indexMessage(buf) };
}
