// Evaluates a parsed SEARCH program against one message (RFC 3501 §6.4.4).
// String matching is case-insensitive substring matching; dates compare by
// day, ignoring time and zone.
import type { MailboxView } from './mailbox-view.js';
import type { ParsedMessage } from './message.js';
import type { SearchKey } from './protocol/search-args.js';
import { inSet, resolveRanges } from './protocol/sequence.js';
import type { MessageMeta } from './store.js';

export interface Candidate {
  view: MailboxView;
  uid: number;
  meta: MessageMeta;
  parsed: ParsedMessage | null;
}

export function needsMessage(k: SearchKey): boolean {
  switch (k.op) {
    case 'header':
    case 'body':
    case 'text':
      return true;
    case 'date':
      return k.which === 'sent';
    case 'not':
      return needsMessage(k.key);
    case 'or':
      return needsMessage(k.a) || needsMessage(k.b);
    case 'and':
      return k.keys.some(needsMessage);
    default:
      return false;
  }
}

const day = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
const has = (hay: string, needle: string) => hay.toLowerCase().includes(needle.toLowerCase());

function compareDay(d: Date, cmp: 'before' | 'on' | 'since', ref: Date): boolean {
  if (Number.isNaN(d.getTime())) return false;
  const a = day(d);
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
    case 'header':
      return (c.parsed?.headerValues(k.field) ?? []).some((v) => has(v, k.value));
    case 'body':
      return has(c.parsed?.bodyText() ?? '', k.value);
    case 'text':
      return has(c.parsed?.section({ part: [], text: null, fields: [] })?.toString('utf8') ?? '', k.value);
    case 'date': {
      if (k.which === 'internal') return compareDay(meta.internalDate, k.cmp, k.date);
      const sent = c.parsed?.headerValues('date')[0];
      return sent ? compareDay(new Date(sent), k.cmp, k.date) : false;
    }
    case 'size':
      return k.cmp === 'larger' ? meta.size > k.n : meta.size < k.n;
    case 'seq':
      return inSet(c.view.seqOf(c.uid), resolveRanges(k.set, c.view.exists));
    case 'uid': {
      const max = c.view.uids[c.view.uids.length - 1] ?? 0;
      return inSet(c.uid, resolveRanges(k.set, max));
    }
    case 'not':
      return !matches(k.key, c);
    case 'or':
      return matches(k.a, c) || matches(k.b, c);
    case 'and':
      return k.keys.every((x) => matches(x, c));
  }
}
