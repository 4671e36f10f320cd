// One folder's state at one moment, immutable and shared: every session of
// this process that has the folder selected at that state points at the same
// FolderSnap (shared-folders.ts hands them out), so a session costs a few
// references, not a copy of the folder. The change from one FolderSnap to
// the next is worked out once (deltaFrom) and read by every session that was
// at the older one: appends cost O(added); flag changes are found by modseq
// (RFC 7162: every change takes a modseq above the old HIGHESTMODSEQ);
// expunges need a walk of the folder only when the count says there were any.
import type { MailboxSnapshot, MessageMeta } from './store.js';

/** What changed from an older FolderSnap to a newer one. */
export interface Delta {
  /** UIDs of the older state that are gone, ascending. */
  expunged: readonly number[];
  /** Messages of both states with a modseq above the older HIGHESTMODSEQ, ascending by UID. */
  changed: readonly MessageMeta[];
  /** Index into the newer state's messages where the ones new since the older start. */
  addedFrom: number;
}

/** Index of the first element > `value` in an ascending array. */
export function upperBound(a: readonly number[], value: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of `value` in an ascending array, -1 when absent. */
export function indexIn(a: readonly number[], value: number): number {
  const i = upperBound(a, value) - 1;
  return i >= 0 && a[i] === value ? i : -1;
}

/**
 * The whole-folder answers and summary maps last handed out, held strongly so
 * a client that reconnects finds them made (the rest are weak: for a big
 * folder they are megabytes, and an idle session must not keep them alive).
 */
const KEPT = 4;
const kept: object[] = [];

function keep(o: object): void {
  if (kept.includes(o)) return;
  kept.push(o);
  if (kept.length > KEPT) kept.shift();
}

export class FolderSnap {
  readonly uids: readonly number[];
  /** Deltas from older snapshots, each worked out once for all sessions (weak: old states go away). */
  private deltas: WeakMap<FolderSnap, Delta> | null = null;

  constructor(
    readonly uidValidity: number,
    readonly uidNext: number,
    readonly highestModseq: number,
    readonly keywords: readonly string[],
    /** In UID order; the objects are read-only (a change makes a new one). */
    readonly messages: readonly MessageMeta[],
  ) {
    this.uids = messages.map((m) => m.uid);
  }

  private exists: readonly string[] | null = null;

  /** ["n EXISTS"] for this state: one array and one string for every session told of it. */
  get existsLines(): readonly string[] {
    this.exists ??= [`${this.uids.length} EXISTS`];
    return this.exists;
  }

  /** Whole-folder answers made for this state (fetch.ts flagsSync), by the items asked for. */
  private answers: Map<string, WeakRef<Buffer>> | null = null;

  /**
   * The bytes of a whole-folder answer that depends on this state alone: made
   * once by `make`, then shared by every session that asks for it (a client
   * resyncing with UID FETCH 1:* (FLAGS) on each connect costs one write).
   */
  answer(key: string, make: () => Buffer): Buffer {
    let bytes = this.answers?.get(key)?.deref();
    if (!bytes) {
      bytes = make();
      this.answers ??= new Map();
      this.answers.set(key, new WeakRef(bytes));
    }
    keep(bytes);
    return bytes;
  }

  private summaryMap: WeakRef<Map<number, unknown>> | null = null;

  /**
   * The summaries of all messages of this state, loaded once by `load` and
   * shared: a SEARCH over the cached header fields of the whole folder looks
   * up each message in one map, not through the store's index per batch.
   */
  async summaries<T>(load: () => Promise<Map<number, T>>): Promise<Map<number, T>> {
    let map = this.summaryMap?.deref() as Map<number, T> | undefined;
    if (!map) {
      map = await load();
      this.summaryMap = new WeakRef(map);
    }
    keep(map);
    return map;
  }

  /** The shared form a store handed out with the snapshot, else one made for it (tests, plain stores). */
  static of(s: MailboxSnapshot): FolderSnap {
    return s.shared ?? new FolderSnap(s.uidValidity, s.uidNext, s.highestModseq, s.keywords, s.messages);
  }

  /** Where the last lookup hit: FETCH, SEARCH and SORT walk the folder in order, so the next is mostly next. */
  private hint = 0;

  metaOf(uid: number): MessageMeta | undefined {
    let i = this.hint;
    if (this.uids[i] !== uid) i = this.uids[i + 1] === uid ? i + 1 : indexIn(this.uids, uid);
    if (i < 0) return undefined;
    this.hint = i;
    return this.messages[i];
  }

  /** Same state: same counters, keywords and message objects (the store reuses unchanged ones). */
  sameAs(s: MailboxSnapshot): boolean {
    if (
      s.uidValidity !== this.uidValidity ||
      s.uidNext !== this.uidNext ||
      s.highestModseq !== this.highestModseq ||
      s.messages.length !== this.messages.length ||
      s.keywords.length !== this.keywords.length
    )
      return false;
    for (let i = 0; i < this.keywords.length; i++) if (s.keywords[i] !== this.keywords[i]) return false;
    for (let i = 0; i < this.messages.length; i++) if (s.messages[i] !== this.messages[i]) return false;
    return true;
  }

  /** What changed since `prev` (same UIDVALIDITY); memoised, so a fan-out to N sessions works it out once. */
  deltaFrom(prev: FolderSnap): Delta {
    this.deltas ??= new WeakMap();
    let d = this.deltas.get(prev);
    if (d) return d;
    const last = prev.uids[prev.uids.length - 1] ?? 0;
    // UIDs only ascend: the messages at or below the old last UID are the survivors.
    const addedFrom = upperBound(this.uids, last);
    const expunged: number[] = [];
    if (addedFrom !== prev.uids.length) {
      let j = 0;
      for (const uid of prev.uids) {
        while (j < addedFrom && (this.uids[j] as number) < uid) j++;
        if (this.uids[j] !== uid || j >= addedFrom) expunged.push(uid);
      }
    }
    const changed: MessageMeta[] = [];
    if (this.highestModseq > prev.highestModseq)
      for (let i = 0; i < addedFrom; i++) {
        const m = this.messages[i] as MessageMeta;
        if (m.modseq > prev.highestModseq) changed.push(m);
      }
    d = { expunged, changed, addedFrom };
    this.deltas.set(prev, d);
    return d;
  }
}
