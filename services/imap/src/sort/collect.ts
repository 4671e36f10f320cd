// The messages a SORT or THREAD program matches, with the header fields the
// sort keys and thread algorithms read. Matching is SEARCH's
// (search-eval.ts); the fields come from the header cache (header-cache.ts)
// when it has them, so a sort over a big folder reads no message file unless
// the search criteria need the body or a message's fields did not fit the
// cache.
import { readHeaderFields } from '@postamt/mime';
import { type CachedIndex, coveredByHeads } from '../header-cache.js';
import type { MailboxView } from '../mailbox-view.js';
import type { SearchKey } from '../protocol/search-args.js';
import { type Candidate, matches, NEED, needOf } from '../search-eval.js';
import type { MailStore } from '../store.js';

/** The first value of each field SORT and THREAD read, raw (binary string, folding kept); null if absent. */
export interface Fields {
  subject: string | null;
  from: string | null;
  to: string | null;
  cc: string | null;
  date: string | null;
  'message-id': string | null;
  'in-reply-to': string | null;
  references: string | null;
}

export interface Matched {
  uid: number;
  seq: number;
  /** RFC822.SIZE (CRLF form). */
  size: number;
  /** INTERNALDATE in seconds. */
  arrival: number;
  fields: Fields;
}

const BATCH = 256;
/** Without the body, a batch holds at most header bytes: larger batches, fewer store calls. */
const HEADER_BATCH = 4096;
/** Message files read at once. */
const READERS = 8;

/** The fields from a header block (binary string) starting at `start`. */
function fieldsOf(s: string, start: number): Fields {
  const f: Fields = {
    subject: null,
    from: null,
    to: null,
    cc: null,
    date: null,
    'message-id': null,
    'in-reply-to': null,
    references: null,
  };
  for (const field of readHeaderFields(s, start, s.length)) {
    const name = field.name.toLowerCase() as keyof Fields;
    if (name in f && f[name] === null) f[name] = field.value;
  }
  return f;
}

/** fieldsOf the cached fields, kept per summary (by identity): a warm SORT or THREAD parses no header. */
const fieldsMemo = new WeakMap<object, Fields>();
function headsFields(index: CachedIndex): Fields {
  let f = fieldsMemo.get(index);
  if (!f) {
    f = fieldsOf(index.heads as string, 0);
    fieldsMemo.set(index, f);
  }
  return f;
}

export async function collect(view: MailboxView, store: MailStore, key: SearchKey): Promise<Matched[]> {
  const need = needOf(key);
  const fromHeads = need < NEED.full && coveredByHeads(key);
  const out: Matched[] = [];
  const uids = [...view.uids];
  const size = need === NEED.full ? BATCH : HEADER_BATCH;
  for (let i = 0; i < uids.length; i += size) {
    const batch = uids.slice(i, i + size);
    const indexes = (await store.summaries(view.name, batch)) as Map<number, CachedIndex>;
    // Files to read: the whole message when the criteria need the body, else
    // the header when the cache does not have this message's fields.
    const files = new Map<number, Buffer | null>();
    const wanted = batch.filter((uid) => {
      const index = indexes.get(uid);
      if (!index) return false;
      return need === NEED.full || index.heads === undefined || (need === NEED.head && !fromHeads);
    });
    let next = 0;
    const reader = async () => {
      while (next < wanted.length) {
        const uid = wanted[next++] as number;
        const index = indexes.get(uid) as CachedIndex;
        const limit = need === NEED.full ? undefined : index.root.pos + index.root.header.physical;
        files.set(uid, await store.read(view.name, uid, limit).catch(() => null));
      }
    };
    await Promise.all(Array.from({ length: READERS }, reader));
    for (const uid of batch) {
      const meta = view.meta.get(uid);
      const index = indexes.get(uid);
      if (!meta || !index) continue; // expunged by another session
      const file = files.get(uid);
      if (file === null) continue;
      let candidate: Candidate = { view, uid, meta, index, bytes: null };
      if (file) candidate = { ...candidate, bytes: file };
      else if (need === NEED.head) candidate = { ...candidate, heads: index };
      if (!matches(key, candidate)) continue;
      const root = index.root;
      out.push({
        uid,
        seq: view.seqOf(uid),
        size: index.size,
        arrival: Math.floor(meta.internalDate.getTime() / 1000),
        fields: file
          ? fieldsOf(file.toString('latin1', 0, root.pos + root.header.physical), root.pos)
          : headsFields(index),
      });
    }
  }
  return out;
}
