// SORT keys (RFC 5256 §3, RFC 5957 §3) and the ordering of a SORT program.
// Strings compare as i;unicode-casemap octets (the RFC's default collation is
// i;ascii-casemap; RFC 5256 §3 lets a server use a richer one, and Dovecot,
// our reference, uses i;unicode-casemap). Equal keys fall to the next
// criterion, and finally to the sequence number (RFC 5256 §3: "sorted in the
// order in which they appear in the mailbox"); REVERSE never applies to that
// last tie-break.
import { parseAddressList } from '@postamt/mime';
import type { SortCriterion, SortKey } from '../protocol/sort-args.js';
import { baseSubject } from './base-subject.js';
import type { Fields, Matched } from './collect.js';
import { decodeHeader, titlecaseDecomposed } from './header-text.js';
import { remembered } from './result-memo.js';
import { sortDate } from './sort-date.js';

const unfold = (v: string): string => v.replace(/\r?\n(?=[ \t])/g, '');
const fromBinary = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');

/** The first address of an address field as written; only a display name is RFC 2047-decoded. */
function firstAddress(value: string | null) {
  if (value === null) return null;
  return parseAddressList(unfold(value))[0] ?? null;
}

/** RFC 5256 §3 FROM/TO/CC: the addr-mailbox of the first address. */
function mailboxKey(value: string | null): string {
  const a = firstAddress(value);
  return a?.mailbox ? fromBinary(a.mailbox) : '';
}

/** RFC 5957 §3 DISPLAYFROM/DISPLAYTO: the decoded display name, else the addr-spec. */
function displayKey(value: string | null): string {
  const a = firstAddress(value);
  if (!a) return '';
  if (a.name) {
    const name = decodeHeader(a.name);
    if (name !== '') return name;
  }
  if (a.mailbox !== null && a.domain !== null) return fromBinary(`${a.mailbox}@${a.domain}`);
  return a.mailbox !== null ? fromBinary(a.mailbox) : '';
}

/** RFC 5256 §2.2 sent date, falling back to INTERNALDATE. */
export const sentDate = (m: Matched): number => fieldsDate(m.fields) || m.arrival;

/** sortDate of the Date field, kept per Fields object (collect.ts keeps those per cached summary). */
const dates = new WeakMap<Fields, number>();
function fieldsDate(fields: Fields): number {
  let d = dates.get(fields);
  if (d === undefined) {
    d = sortDate(fields.date);
    dates.set(fields, d);
  }
  return d;
}

/** The subject as both SORT SUBJECT and THREAD compare it. */
export function subjectKey(fields: Fields): Buffer {
  let k = subjects.get(fields);
  if (k === undefined) {
    k = Buffer.from(fields.subject === null ? '' : baseSubject(fields.subject).base, 'utf8');
    subjects.set(fields, k);
  }
  return k;
}
/** subjectKey per Fields object (read only). */
const subjects = new WeakMap<Fields, Buffer>();

type Value = number | Buffer;

/** A string key in i;unicode-casemap form; it ends at a NUL, as Dovecot's C strings do. */
const text = (s: string) => Buffer.from(titlecaseDecomposed(s.split('\0', 1)[0] as string), 'utf8');

/** The string keys, from one header field value each. */
const STRING_KEYS: Record<
  Exclude<SortKey, 'ARRIVAL' | 'DATE' | 'SIZE'>,
  [keyof Fields, (v: string | null) => Buffer]
> = {
  SUBJECT: ['subject', (v) => Buffer.from(v === null ? '' : baseSubject(v).base, 'utf8')],
  FROM: ['from', (v) => text(mailboxKey(v))],
  TO: ['to', (v) => text(mailboxKey(v))],
  CC: ['cc', (v) => text(mailboxKey(v))],
  DISPLAYFROM: ['from', (v) => text(displayKey(v))],
  DISPLAYTO: ['to', (v) => text(displayKey(v))],
};

/**
 * String keys by message: per Fields object (collect.ts keeps one per cached
 * summary, so a warm SORT computes no key), else once per distinct field
 * value (senders repeat).
 */
const byFields = new Map<SortKey, WeakMap<Fields, Buffer>>();

/** Key values per message. */
function keyOf(m: Matched, key: SortKey, memo: Map<string, Buffer>): Value {
  if (key === 'ARRIVAL') return m.arrival;
  if (key === 'DATE') return sentDate(m);
  if (key === 'SIZE') return m.size;
  let known = byFields.get(key);
  if (!known) {
    known = new WeakMap();
    byFields.set(key, known);
  }
  let k = known.get(m.fields);
  if (k !== undefined) return k;
  const [field, make] = STRING_KEYS[key];
  const value = m.fields[field];
  const id = value === null ? key : `${key}:${value}`;
  k = memo.get(id);
  if (k === undefined) {
    k = make(value);
    memo.set(id, k);
  }
  known.set(m.fields, k);
  return k;
}

/** Replaces the string keys of column `i` by their rank among the distinct keys (equal bytes, equal rank). */
function rankColumn(rows: Array<{ keys: Value[] }>, i: number): void {
  const distinct = [...new Set(rows.map((r) => r.keys[i] as Buffer))].sort(Buffer.compare);
  const rank = new Map<Buffer, number>();
  let n = 0;
  distinct.forEach((b, j) => {
    if (j > 0 && Buffer.compare(distinct[j - 1] as Buffer, b) !== 0) n++;
    rank.set(b, n);
  });
  for (const r of rows) r.keys[i] = rank.get(r.keys[i] as Buffer) as number;
}

/** The matched messages in the order of the sort program. */
export function sortMessages(messages: Matched[], criteria: readonly SortCriterion[]): Matched[] {
  // Remembered while the matched messages stay the same (result-memo.ts).
  const key = `SORT ${criteria.map((c) => `${c.reverse ? 'REVERSE ' : ''}${c.key}`).join(' ')}`;
  const order = remembered(key, messages, () => sortNow(messages, criteria));
  return Array.from(order, (i) => messages[i] as Matched);
}

/** Positions of the messages in the order of the sort program. */
function sortNow(messages: Matched[], criteria: readonly SortCriterion[]): Uint32Array {
  const memo = new Map<string, Buffer>();
  const rows = messages.map((m, at) => ({ m, at, keys: criteria.map((c) => keyOf(m, c.key, memo)) }));
  // Buffers compared once per distinct key, not once per comparison of the sort.
  criteria.forEach((c, i) => {
    if (c.key !== 'ARRIVAL' && c.key !== 'DATE' && c.key !== 'SIZE') rankColumn(rows, i);
  });
  rows.sort((x, y) => {
    for (let i = 0; i < criteria.length; i++) {
      const d = (x.keys[i] as number) - (y.keys[i] as number);
      if (d !== 0) return (criteria[i] as SortCriterion).reverse ? -d : d;
    }
    return x.at - y.at; // the mailbox order (messages come in UID order)
  });
  return Uint32Array.from(rows, (r) => r.at);
}
