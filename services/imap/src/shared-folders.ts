// A MailStore decorator (STYLE.md §4) that makes the sessions of one user in
// this process share their folder state:
//   - open() calls for a folder that arrive together wait for one read of
//     the folder, started on the next turn of the event loop; a call made
//     while a read is running waits for the next one, so every caller still
//     gets a state read after it asked (NOOP must see what was done before it).
//   - a caller that only needs a state read after some earlier moment (a
//     command after an event: "after the event was heard") passes that
//     moment of the read clock and gets the last read, or joins the running
//     one, when it started after that — no read of its own.
//   - IDLE sessions watch a folder: every new state any read finds is pushed
//     to all of them at once, and while any watch the folder is read every
//     poll interval — one timer and one read per folder, not per session —
//     so a lost event delays news by at most that interval.
//   - the state read is handed out as one FolderSnap (folder-snapshot.ts),
//     and is the same object as the last one while nothing changed, so N
//     sessions on a 10,000-message folder hold one copy of it, not N.
//   - \Recent (RFC 3501 §2.3.2): the messages one read claimed go to exactly
//     one of the callers or watchers that claim (SELECT, not EXAMINE).
import { FolderSnap } from './folder-snapshot.js';
import type { FolderWatch, MailboxSnapshot, MailStore } from './store.js';

/** Reads of all folders are numbered as they start: a read numbered above a value taken earlier started after it. */
let clock = 0;

/** Now, on the read clock (see MailStore.open's `readAfter`). */
export function readClock(): number {
  return clock;
}

interface Waiter {
  claim: boolean;
  resolve: (s: MailboxSnapshot) => void;
  reject: (e: unknown) => void;
}

/** Callers gathering for the next read. */
interface Batch {
  claim: boolean;
  waiters: Waiter[];
}

/** A read under way: callers whose moment it started after may still join. */
interface Read extends Batch {
  startedAt: number;
}

interface Watcher {
  claim: boolean;
  fn: (snap: MailboxSnapshot) => void;
}

/** One folder's reads: the batch gathering callers, the read running, the last state found, its watchers. */
interface Slot {
  name: string;
  pending: Batch | null;
  running: Read | null;
  /** Weak: once no session holds it, it may go (the store keeps its own message objects anyway). */
  last: WeakRef<FolderSnap> | null;
  /** When the read that found `last` started, and whether it claimed \Recent. */
  lastAt: number;
  lastClaimed: boolean;
  watchers: Set<Watcher>;
  /** Watchers that claim \Recent: while there are any, every read claims. */
  claimers: number;
  poll: NodeJS.Timeout | null;
}

const NO_RECENT: ReadonlySet<number> = new Set<number>();

/** INBOX in any case is INBOX; the first test spares a new string per call in a fan-out. */
const canonical = (name: string) =>
  name === 'INBOX' || name.length !== 5 || name.toUpperCase() !== 'INBOX' ? name : 'INBOX';

function snapshotOf(shared: FolderSnap, recent: ReadonlySet<number>, readAt: number): MailboxSnapshot {
  return {
    uidValidity: shared.uidValidity,
    uidNext: shared.uidNext,
    messages: shared.messages,
    recent,
    keywords: shared.keywords,
    highestModseq: shared.highestModseq,
    shared,
    readAt,
  };
}

export class SharedFolders implements MailStore, FolderWatch {
  private readonly slots = new Map<string, Slot>();

  /** Reads of the inner store so far (for tests and metrics): one per batch, not one per caller. */
  reads = 0;

  constructor(private readonly inner: MailStore) {}

  private slot(name: string): Slot {
    const key = canonical(name);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = {
        name,
        pending: null,
        running: null,
        last: null,
        lastAt: -1,
        lastClaimed: false,
        watchers: new Set(),
        claimers: 0,
        poll: null,
      };
      this.slots.set(key, slot);
    }
    return slot;
  }

  open(name: string, claimRecent: boolean, readAfter = clock): Promise<MailboxSnapshot> {
    const s = this.slot(name);
    // A claiming caller cannot use a read that left new/ alone: it would never see \Recent.
    const last = s.last?.deref();
    if (last && s.lastAt > readAfter && (s.lastClaimed || !claimRecent))
      return Promise.resolve(snapshotOf(last, NO_RECENT, s.lastAt));
    return new Promise<MailboxSnapshot>((resolve, reject) => {
      const running = s.running;
      const batch =
        running && running.startedAt > readAfter && (running.claim || !claimRecent) ? running : this.ask(s);
      batch.claim ||= claimRecent;
      batch.waiters.push({ claim: claimRecent, resolve, reject });
    });
  }

  /** The folder may have changed (a mail event): a read soon, whose state goes to the watchers. */
  changed(name: string): void {
    this.ask(this.slot(name));
  }

  /** IDLE: `fn` gets every new state of the folder until the returned stop is called. */
  watch(name: string, claimRecent: boolean, pollMs: number, fn: (snap: MailboxSnapshot) => void): () => void {
    const s = this.slot(name);
    const w: Watcher = { claim: claimRecent, fn };
    s.watchers.add(w);
    if (claimRecent) s.claimers++;
    if (!s.poll) {
      // Covers events lost while Redis was away; the one read is fanned out like an event's.
      s.poll = setInterval(() => this.ask(s), pollMs);
      s.poll.unref();
    }
    return () => {
      if (!s.watchers.delete(w)) return;
      if (claimRecent) s.claimers--;
      if (s.watchers.size === 0 && s.poll) {
        clearInterval(s.poll);
        s.poll = null;
        this.forget(s);
      }
    };
  }

  /** The batch of the next read, started on the next turn of the event loop (callers woken in this tick join it). */
  private ask(s: Slot): Batch {
    if (!s.pending) {
      s.pending = { claim: false, waiters: [] };
      if (!s.running) setImmediate(() => this.start(s));
    }
    return s.pending;
  }

  private start(slot: Slot): void {
    const batch = slot.pending;
    if (!batch || slot.running) return;
    slot.pending = null;
    const read: Read = {
      claim: batch.claim || slot.claimers > 0,
      waiters: batch.waiters,
      startedAt: ++clock,
    };
    slot.running = read;
    this.reads++;
    this.inner.open(slot.name, read.claim).then(
      (snap) => {
        slot.running = null;
        const last = slot.last?.deref();
        const shared = last?.sameAs(snap) ? last : FolderSnap.of(snap);
        if (shared !== last) slot.last = new WeakRef(shared);
        slot.lastAt = read.startedAt;
        slot.lastClaimed = read.claim;
        let recent = snap.recent;
        /** The first claimer gets what this read claimed (RFC 3501 §2.3.2: one session only). */
        const claimed = (claim: boolean) => {
          if (!claim || !recent.size) return NO_RECENT;
          const mine = recent;
          recent = NO_RECENT;
          return mine;
        };
        const plain = snapshotOf(shared, NO_RECENT, read.startedAt);
        for (const w of read.waiters) {
          const mine = claimed(w.claim);
          w.resolve(mine === NO_RECENT ? plain : snapshotOf(shared, mine, read.startedAt));
        }
        // Every read, news or not: a watcher may stand on an older state than the last (it had not
        // heard the event yet when it began to watch); one that has it returns at once (MailboxView.sync).
        for (const w of slot.watchers) {
          const mine = claimed(w.claim);
          try {
            w.fn(mine === NO_RECENT ? plain : snapshotOf(shared, mine, read.startedAt));
          } catch {
            // One session's trouble is its own; the others still hear the news.
          }
        }
        this.next(slot);
      },
      (err: unknown) => {
        slot.running = null;
        for (const w of read.waiters) w.reject(err);
        this.next(slot);
      },
    );
  }

  /** Callers that came while the read ran get the next one. */
  private next(slot: Slot): void {
    if (slot.pending) setImmediate(() => this.start(slot));
    else this.forget(slot);
  }

  /** An idle slot with nothing to share or watch goes. */
  private forget(slot: Slot): void {
    if (slot.pending || slot.running || slot.watchers.size || slot.last?.deref()) return;
    const key = canonical(slot.name);
    if (this.slots.get(key) === slot) this.slots.delete(key);
  }

  listFolders: MailStore['listFolders'] = () => this.inner.listFolders();
  createFolder: MailStore['createFolder'] = (name) => this.inner.createFolder(name);
  deleteFolder: MailStore['deleteFolder'] = (name) => this.inner.deleteFolder(name);
  renameFolder: MailStore['renameFolder'] = (from, to) => this.inner.renameFolder(from, to);
  setSubscribed: MailStore['setSubscribed'] = (name, on) => this.inner.setSubscribed(name, on);
  status: MailStore['status'] = (name) => this.inner.status(name);
  read: MailStore['read'] = (name, uid, limit) => this.inner.read(name, uid, limit);
  summaries: MailStore['summaries'] = (name, uids) => this.inner.summaries(name, uids);
  setFlags: MailStore['setFlags'] = (name, uids, op, flags, unchangedSince) =>
    this.inner.setFlags(name, uids, op, flags, unchangedSince);
  expungedSince: MailStore['expungedSince'] = (name, modseq) => this.inner.expungedSince(name, modseq);
  append: MailStore['append'] = (name, data, flags, date) => this.inner.append(name, data, flags, date);
  copy: MailStore['copy'] = (from, uids, to) => this.inner.copy(from, uids, to);
  move: MailStore['move'] = (from, uids, to) => this.inner.move(from, uids, to);
  expunge: MailStore['expunge'] = (name, uids) => this.inner.expunge(name, uids);
  files: MailStore['files'] = (name, uids) => this.inner.files(name, uids);
  quota: MailStore['quota'] = () => this.inner.quota();
}
