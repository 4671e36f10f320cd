// Evaluates a parsed SEARCH program against one message (RFC 3501 §6.4.4).
// Flags, dates, sizes and sets are mailbox state; text keys go to
// @postamt/mime's searchMatches (decoded headers and bodies, case-insensitive
// substring). Each key says what it needs — nothing, the cached index, the
// header bytes or the whole message — so SEARCH reads no more than it must.
import {
  type HeaderSearchKey,
  haystacksMatch,
  headerTextHaystacks,
  headerValues,
  type MessageIndex,
  searchMatches,
} from '@postamt/mime';
import { type CachedIndex, headsMessage } from './header-cache.js';
import type { MailboxView } from './mailbox-view.js';
import type { SearchKey } from './protocol/search-args.js';
import { inSet, resolveRanges } from './protocol/sequence.js';
import { sentDate } from './sent-date.js';
import type { MessageMeta } from './store.js';

export interface Candidate {
  view: MailboxView;
  uid: number;
  meta: MessageMeta;
  index: MessageIndex | null;
  /** The header (need 'head') or the whole message (need 'full'). */
  bytes: Buffer | null;
  /**
   * Instead of `bytes` for header keys: the cached fields (header-cache.ts)
   * of this summary stand in for the header.
   */
  heads?: CachedIndex;
}

/**
 * The folded values a header key matches against, kept per cached summary
 * (by identity) and field: a client that searches its subjects again — or
 * a SEARCH after SORT — parses and decodes no header a second time. At most
 * MEMO_FIELDS fields are kept; the summaries own the memory (WeakMap).
 */
const memo = new Map<string, WeakMap<object, string[]>>();
const MEMO_FIELDS = 8;

function cachedHaystacks(heads: CachedIndex, key: HeaderSearchKey, field: string): string[] | null {
  const id = key === 'HEADER' ? `HEADER:${field.toLowerCase()}` : key;
  let byMessage = memo.get(id);
  if (!byMessage) {
    if (memo.size >= MEMO_FIELDS) memo.delete(memo.keys().next().value as string);
    byMessage = new WeakMap();
    memo.set(id, byMessage);
  }
  let hay = byMessage.get(heads);
  if (hay === undefined) {
    if (heads.heads === undefined) return null;
    // The header block headsMessage makes, as the text it decodes from.
    hay = headerTextHaystacks(`${heads.heads}\r\n`, 0, key, field);
    byMessage.set(heads, hay);
  }
  return hay;
}

/** The header bytes and index to read: the message's own, or the stand-in made of the cached fields. */
function headerOf(c: Candidate): { bytes: Buffer; index: MessageIndex } | null {
  if (c.bytes && c.index) return { bytes: c.bytes, index: c.index };
  return c.heads ? headsMessage(c.heads) : null;
}

/** What evaluating a key needs beyond the mailbox state, in increasing cost. */
export type Need = 0 | 1 | 2 | 3;
export const NEED = { none: 0, index: 1, head: 2, full: 3 } as const;

export function needOf(k: SearchKey): Need {
  switch (k.op) {
    case 'size':
      return NEED.index; // RFC822.SIZE is the CRLF size, which the index knows
    case 'header':
      return NEED.head;
    case 'body':
    case 'text':
      return NEED.full;
    case 'date':
      return k.which === 'sent' ? NEED.head : NEED.none;
    case 'not':
      return needOf(k.key);
    case 'or':
      return Math.max(needOf(k.a), needOf(k.b)) as Need;
    case 'and':
      return Math.max(0, ...k.keys.map(needOf)) as Need;
    default:
      return NEED.none;
  }
}

const DAY_MS = 86_400_000;
const day = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

function compareDay(ms: number, cmp: 'before' | 'on' | 'since', ref: Date): boolean {
  if (Number.isNaN(ms)) return false;
  const a = day(ms);
  const b = ref.getTime();
  return cmp === 'before' ? a < b : cmp === 'on' ? a === b : a >= b;
}

export function matches(k: SearchKey, c: Candidate): boolean {
  const { meta } = c;
  switch (k.op) {
    case 'all':
      return true;
    case 'flag':
      return meta.flags.includes(k.flag) === k.set;
    case 'recent':
      return c.view.recent.has(c.uid);
    case 'new':
      return c.view.recent.has(c.uid) && !meta.flags.includes('\\Seen');
    case 'old':
      return !c.view.recent.has(c.uid);
    case 'header': {
      if (c.heads && !c.bytes) {
        const hay = cachedHaystacks(c.heads, k.key, k.field);
        return hay !== null && haystacksMatch(hay, k.key, k.value);
      }
      if (!c.bytes || !c.index) return false;
      return searchMatches(c.bytes, c.index, k.key, k.value, k.field);
    }
    case 'body':
    case 'text':
      if (!c.bytes || !c.index) return false;
      return searchMatches(c.bytes, c.index, k.op === 'body' ? 'BODY' : 'TEXT', k.value);
    case 'date': {
      if (k.which === 'internal') return compareDay(meta.internalDate.getTime(), k.cmp, k.date);
      const h = headerOf(c);
      if (!h) return false;
      // RFC 3501 §6.4.4: the Date header, "disregarding time and timezone"; the first one counts.
      return compareDay(sentDate(headerValues(h.bytes, h.index, 'date')[0]), k.cmp, k.date);
    }
    case 'size': {
      const size = c.index?.size ?? meta.size;
      return k.cmp === 'larger' ? size > k.n : size < k.n;
    }
    case 'seq':
      return inSet(c.view.seqOf(c.uid), resolveRanges(k.set, c.view.exists));
    case 'uid': {
      const max = c.view.uids[c.view.uids.length - 1] ?? 0;
      return inSet(c.uid, resolveRanges(k.set, max));
    }
    case 'modseq':
      return meta.modseq >= k.modseq;
    case 'not':
      return !matches(k.key, c);
    case 'or':
      return matches(k.a, c) || matches(k.b, c);
    case 'and':
      return k.keys.every((x) => matches(x, c));
  }
}
