// Sequence sets (RFC 3501 §9 sequence-set; §6.4.8 for UID sets): ranges of
// numbers where `*` is the largest number in use. Kept symbolic until a
// mailbox is at hand; `resolve` turns them into concrete ranges.
import { ParseError, type Reader } from './reader.js';

/** `*` is represented as STAR until resolved. */
export const STAR = -1;
export type SeqRange = readonly [number, number];
export type SeqSet = readonly SeqRange[];

export const MAX_RANGES = 10_000;

function seqNumber(r: Reader): number {
  if (r.take('*')) return STAR;
  return r.nzNumber();
}

/** sequence-set = (seq-number / seq-range) ["," sequence-set] */
export function parseSeqSet(r: Reader): SeqSet {
  const out: SeqRange[] = [];
  for (;;) {
    const a = seqNumber(r);
    const b = r.take(':') ? seqNumber(r) : a;
    out.push([a, b]);
    if (out.length > MAX_RANGES) throw new ParseError('sequence set too long');
    if (!r.take(',')) return out;
  }
}

/** RFC 3501 §9: a range is the same whichever end is written first; `*` becomes `max`. */
export function resolveRanges(set: SeqSet, max: number): Array<[number, number]> {
  return set.map(([a, b]) => {
    const x = a === STAR ? max : a;
    const y = b === STAR ? max : b;
    return x <= y ? [x, y] : [y, x];
  });
}

export function inSet(n: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [a, b] of ranges) if (n >= a && n <= b) return true;
  return false;
}

/** Compact set text for responses (COPYUID, APPENDUID, ESEARCH): sorted, merged. */
export function formatSet(nums: readonly number[]): string {
  const sorted = [...nums].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && (sorted[i + 1] as number) <= end + 1) end = sorted[++i] as number;
    parts.push(start === end ? `${start}` : `${start}:${end}`);
    i++;
  }
  return parts.join(',');
}

/** The set in the order given, with duplicates kept: COPYUID pairs source and destination in order. */
export function formatList(nums: readonly number[]): string {
  return nums.join(',');
}
