// A MailStore decorator (STYLE.md §4) that makes the sessions of one user in
// this process share their folder state:
//   - open() calls for a folder that arrive together — a new-mail event
//     wakes every IDLE session of the folder in the same tick — wait for one
//     read of the folder, started on the next turn of the event loop; a call
//     made while a read is running waits for the next one, so every caller
//     still gets a state read after it asked (NOOP must see what was done
//     before it).
//   - the state read is handed out as one FolderSnap (folder-snapshot.ts),
//     and is the same object as the last one while nothing changed, so N
//     sessions on a 10,000-message folder hold one copy of it, not N.
//   - \Recent (RFC 3501 §2.3.2): the messages one read claimed go to exactly
//     one of the callers that asked to claim (SELECT, not EXAMINE).
import { FolderSnap } from './folder-snapshot.js';
import type { MailboxSnapshot, MailStore } from './store.js';

interface Waiter {
  claim: boolean;
  resolve: (s: MailboxSnapshot) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  claim: boolean;
  waiters: Waiter[];
}

/** One folder's reads: the batch gathering callers, the read running, the last state handed out. */
interface Slot {
  pending: Batch | null;
  running: boolean;
  /** Weak: once no session holds it, it may go (the store keeps its own message objects anyway). */
  last: WeakRef<FolderSnap> | null;
}

const NO_RECENT: ReadonlySet<number> = new Set<number>();

const canonical = (name: string) => (name.toUpperCase() === 'INBOX' ? 'INBOX' : name);

export class SharedFolders implements MailStore {
  private readonly slots = new Map<string, Slot>();

  /** Reads of the inner store so far (for tests and metrics): one per batch, not one per caller. */
  reads = 0;

  constructor(private readonly inner: MailStore) {}

  open(name: string, claimRecent: boolean): Promise<MailboxSnapshot> {
    const key = canonical(name);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { pending: null, running: false, last: null };
      this.slots.set(key, slot);
    }
    const s = slot;
    return new Promise<MailboxSnapshot>((resolve, reject) => {
      if (!s.pending) {
        s.pending = { claim: false, waiters: [] };
        // Not started at once: callers woken in the same tick join this read.
        if (!s.running) setImmediate(() => this.start(name, s));
      }
      s.pending.claim ||= claimRecent;
      s.pending.waiters.push({ claim: claimRecent, resolve, reject });
    });
  }

  private start(name: string, slot: Slot): void {
    const batch = slot.pending;
    if (!batch || slot.running) return;
    slot.pending = null;
    slot.running = true;
    this.reads++;
    this.inner.open(name, batch.claim).then(
      (snap) => {
        slot.running = false;
        const last = slot.last?.deref();
        const shared = last?.sameAs(snap) ? last : FolderSnap.of(snap);
        if (shared !== last) slot.last = new WeakRef(shared);
        let recent = snap.recent;
        for (const w of batch.waiters) {
          // The first caller that claims gets what this read claimed (RFC 3501 §2.3.2: one session only).
          const mine = w.claim && recent.size ? recent : NO_RECENT;
          if (mine === recent) recent = NO_RECENT;
          w.resolve({
            uidValidity: shared.uidValidity,
            uidNext: shared.uidNext,
            messages: shared.messages,
            recent: mine,
            keywords: shared.keywords,
            highestModseq: shared.highestModseq,
            shared,
          });
        }
        this.next(name, slot);
      },
      (err: unknown) => {
        slot.running = false;
        for (const w of batch.waiters) w.reject(err);
        this.next(name, slot);
      },
    );
  }

  /** Callers that came while the read ran get the next one; an idle slot with nothing to share goes. */
  private next(name: string, slot: Slot): void {
    if (slot.pending) setImmediate(() => this.start(name, slot));
    else if (!slot.last?.deref() && this.slots.get(canonical(name)) === slot)
      this.slots.delete(canonical(name));
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
