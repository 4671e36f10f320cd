// A session's view of its selected mailbox: the sequence-number ↔ UID map
// and the flags this client was last told. Sequence numbers change only when
// this session reports EXPUNGE (RFC 3501 §7.4.1), so other processes' changes
// are merged by `sync` only where the RFC allows untagged EXPUNGE/EXISTS.
// With CONDSTORE enabled (RFC 7162 §3.1) flag changes are reported with UID
// and MODSEQ; with QRESYNC (§3.2.10) expunges as one VANISHED, not EXPUNGEs.
//
// Memory: the view points at the shared FolderSnap it last merged
// (folder-snapshot.ts) and keeps only where it differs from it — its own
// sequence while it holds messages others expunged (ghosts) or it expunged
// itself, and the metadata of ghosts and of messages it changed since. An
// idle session with nothing pending holds no per-message state at all.

import { FolderSnap, indexIn } from './folder-snapshot.js';
import { formatSet, inSet, resolveRanges, type SeqSet } from './protocol/sequence.js';
import type { Wire } from './protocol/serialize.js';
import { raw } from './protocol/serialize.js';
import { readClock } from './shared-folders.js';
import type { MailboxSnapshot, MessageMeta } from './store.js';

/** Which RFC 7162 extensions the session has enabled. */
export interface Extensions {
  condstore: boolean;
  qresync: boolean;
}

/** The metadata this client was last told, by UID (the view's own changes over the shared state). */
export class MetaTable {
  constructor(private readonly view: MailboxView) {}
  get(uid: number): MessageMeta | undefined {
    return this.view.metaOf(uid);
  }
  /** After this session changed a message (STORE, FETCH setting \Seen): what it was told. */
  set(uid: number, meta: MessageMeta): void {
    this.view.setMeta(uid, meta);
  }
}

const EMPTY: ReadonlySet<number> = new Set<number>();

export class MailboxView {
  /** The shared state last merged. */
  private base: FolderSnap;
  /** Sequence number - 1 → UID: `base.uids` itself unless this view differs from it. */
  private seq: readonly number[];
  /** Metadata that differs from `base`: ghosts' and what this session changed; null when none. */
  private own: Map<number, MessageMeta> | null = null;
  readonly meta = new MetaTable(this);
  uidValidity: number;
  uidNext: number;
  recent: ReadonlySet<number>;
  keywords: readonly string[];
  /** The HIGHESTMODSEQ this client was last told of (or could infer). */
  highestModseq: number;
  /**
   * A state read after this moment of the read clock (shared-folders.ts) may bring news: an event
   * was heard then, or this session changed the folder; -1 when any state will do (ghosts to
   * report); null when no news is expected.
   */
  staleSince: number | null = null;
  /** When the view was last merged with the folder on disk. */
  syncedAt = Date.now();
  /**
   * The earliest read (by start, on the read clock) whose state this view may merge: not one older
   * than its base, nor one that started before this session's own last change to the folder.
   */
  private minReadAt: number;

  constructor(
    private folder: string,
    readonly readOnly: boolean,
    snap: MailboxSnapshot,
  ) {
    this.base = FolderSnap.of(snap);
    this.seq = this.base.uids;
    this.uidValidity = snap.uidValidity;
    this.uidNext = snap.uidNext;
    this.recent = snap.recent.size ? new Set(snap.recent) : EMPTY;
    this.keywords = snap.keywords;
    this.highestModseq = snap.highestModseq;
    this.minReadAt = snap.readAt ?? -1;
  }

  /** This session changed the folder: only a state read after now shows it. */
  private changedHere(): void {
    const now = readClock();
    this.minReadAt = now + 1;
    this.stale(now);
  }

  /** The folder's name (canonical); it changes only by this session's RENAME. */
  get name(): string {
    return this.folder;
  }

  /** RENAME by this session moved the folder, UIDs and all (RFC 3501 §6.3.5). */
  renamed(to: string): void {
    this.folder = to;
  }

  /** Something may have changed since `at` on the read clock (now by default). */
  stale(at = readClock()): void {
    this.staleSince = this.staleSince === null ? at : Math.max(this.staleSince, at);
  }

  /** The next command reads the folder again. */
  get dirty(): boolean {
    return this.staleSince !== null;
  }

  /** The shared state, when this view shows exactly it: no sequence, metadata or \Recent of its own. */
  get plain(): FolderSnap | null {
    return this.seq === this.base.uids && this.own === null && this.recent.size === 0 ? this.base : null;
  }

  /** UIDs in sequence-number order (index + 1 is the sequence number). */
  get uids(): readonly number[] {
    return this.seq;
  }

  get exists(): number {
    return this.seq.length;
  }

  seqOf(uid: number): number {
    return indexIn(this.seq, uid) + 1;
  }

  metaOf(uid: number): MessageMeta | undefined {
    return this.own?.get(uid) ?? this.base.metaOf(uid);
  }

  /** After this session changed a message (STORE, FETCH setting \Seen): what it was told. */
  setMeta(uid: number, meta: MessageMeta): void {
    this.keepMeta(uid, meta);
    this.changedHere();
  }

  private keepMeta(uid: number, meta: MessageMeta): void {
    this.own ??= new Map();
    this.own.set(uid, meta);
  }

  /** Message sequence set → UIDs; null when a number is beyond EXISTS (RFC 3501 §9: invalid → BAD). */
  bySeq(set: SeqSet): number[] | null {
    const ranges = resolveRanges(set, this.seq.length);
    const out: number[] = [];
    for (const [a, b] of ranges) {
      if (a < 1 || b > this.seq.length) return null;
    }
    this.seq.forEach((uid, i) => {
      if (inSet(i + 1, ranges)) out.push(uid);
    });
    return out;
  }

  /** UID set → existing UIDs; `*` is the highest UID in use (RFC 3501 §6.4.8). */
  byUid(set: SeqSet): number[] {
    const max = this.seq.length ? (this.seq[this.seq.length - 1] as number) : 0;
    const ranges = resolveRanges(set, max);
    return this.seq.filter((u) => inSet(u, ranges));
  }

  flagsOf(uid: number): Wire {
    const flags = this.metaOf(uid)?.flags ?? [];
    const list = this.recent.has(uid) ? [...flags, '\\Recent'] : flags;
    return list.map((f) => raw(f));
  }

  /** The FETCH line that tells of a flag change (RFC 3501 §7.4.2; RFC 7162 §3.1: with UID and MODSEQ). */
  flagsLine(uid: number, ext: Extensions, withUid: boolean, withFlags = true): string {
    const meta = this.metaOf(uid);
    const parts: string[] = [];
    if (withUid || ext.condstore) parts.push(`UID ${uid}`);
    if (withFlags) {
      const flags = meta?.flags ?? [];
      parts.push(`FLAGS (${(this.recent.has(uid) ? [...flags, '\\Recent'] : flags).join(' ')})`);
    }
    if (ext.condstore && meta) parts.push(`MODSEQ (${meta.modseq})`);
    return `${this.seqOf(uid)} FETCH (${parts.join(' ')})`;
  }

  /**
   * Drops expunged messages; returns the lines that report them: EXPUNGE per
   * message, highest number first so each is still valid when the client
   * applies it — or with QRESYNC one VANISHED (RFC 7162 §3.2.10).
   */
  remove(gone: ReadonlySet<number>, ext: Extensions): string[] {
    const before = this.seq.length;
    const out = this.drop(gone, ext);
    // This session expunged them (EXPUNGE, MOVE): a state read before that would bring them back.
    if (this.seq.length !== before) this.changedHere();
    return out;
  }

  /** Drops messages this view no longer shows; the lines that report them. */
  private drop(gone: ReadonlySet<number>, ext: Extensions): string[] {
    const out: string[] = [];
    const uids: number[] = [];
    for (let i = this.seq.length - 1; i >= 0; i--) {
      const uid = this.seq[i] as number;
      if (!gone.has(uid)) continue;
      out.push(`${i + 1} EXPUNGE`);
      uids.push(uid);
    }
    if (uids.length) {
      // The shared state still has them until the next sync: from here this view has its own sequence.
      this.seq = this.seq.filter((u) => !gone.has(u));
      for (const uid of uids) this.own?.delete(uid);
      if (this.recent.size) this.recent = new Set([...this.recent].filter((u) => !gone.has(u)));
    }
    if (ext.qresync) return uids.length ? [`VANISHED ${formatSet(uids)}`] : [];
    return out;
  }

  /**
   * Merges a fresh snapshot; returns untagged responses. Without
   * `allowExpunge`, vanished messages stay (as ghosts) so numbers do not move.
   */
  sync(snap: MailboxSnapshot, allowExpunge: boolean, ext: Extensions = NONE): readonly string[] {
    // A state older than what this view knows (its own changes included) is not merged: a view
    // never goes back. Snapshots without a read time (plain stores) are taken as just read.
    const readAt = snap.readAt;
    if (readAt !== undefined) {
      if (readAt < this.minReadAt) return NO_LINES;
      this.minReadAt = readAt;
    }
    // News heard after this read started is still to come.
    if (this.staleSince !== null && (readAt === undefined || readAt > this.staleSince))
      this.staleSince = null;
    this.syncedAt = Date.now();
    const next = FolderSnap.of(snap);
    const prev = this.base;
    // The common case of a fan-out or a poll: the state this view stands on, nothing of its own.
    if (next === prev && this.seq === prev.uids && this.own === null && snap.recent.size === 0)
      return NO_LINES;
    if (
      this.seq === prev.uids &&
      this.own === null &&
      !ext.condstore &&
      next.uidValidity === prev.uidValidity
    ) {
      const news = this.onlyAdded(next, snap.recent);
      if (news) return news;
    }
    const out: string[] = [];
    let gone: readonly number[];
    let changed: readonly MessageMeta[];
    let addedFrom: number;
    if (this.seq === prev.uids && next.uidValidity === prev.uidValidity) {
      // The common case: nothing of our own, so the shared delta says it all.
      ({ expunged: gone, changed, addedFrom } = next.deltaFrom(prev));
    } else ({ gone, changed, addedFrom } = this.diffOwn(next));
    const ghosts = allowExpunge ? [] : gone;
    if (ghosts.length) this.stale(-1); // to be reported at the next point that allows EXPUNGE
    // Ghosts keep the metadata last told; the shared state moves on without them.
    for (const uid of ghosts) {
      const m = this.metaOf(uid);
      if (m) this.keepMeta(uid, m);
    }
    if (allowExpunge && gone.length) for (const line of this.drop(new Set(gone), ext)) out.push(line);
    // Flag changes made by others (RFC 3501 §7.4.2: unsolicited FETCH); with CONDSTORE also a new
    // modseq alone (flags changed and changed back). Compared with what this client was told:
    // the shared state, or its own record of a change it made itself.
    const told = new Map<number, MessageMeta>();
    for (const m of changed) told.set(m.uid, m);
    const ghostSet = new Set(ghosts);
    if (this.own)
      for (const [uid] of this.own) {
        if (ghostSet.has(uid) || told.has(uid)) continue;
        const now = next.metaOf(uid);
        if (now) told.set(uid, now);
      }
    const updates: Array<[MessageMeta, MessageMeta]> = [];
    for (const [uid, now] of told) {
      const was = this.metaOf(uid);
      if (!was || !this.seqHas(uid)) continue;
      updates.push([was, now]);
    }
    // The view now stands on `next`: its own sequence only while ghosts remain.
    const added = next.messages.slice(addedFrom);
    const kept = this.seq;
    this.base = next;
    if (!ghosts.length && kept.length + added.length === next.uids.length) this.seq = next.uids;
    else this.seq = [...kept, ...added.map((m) => m.uid)];
    const own = this.own;
    this.own = null;
    for (const uid of ghosts) {
      const m = own?.get(uid);
      if (m) this.keepMeta(uid, m);
    }
    let toldModseq = 0;
    updates.sort((a, b) => a[1].uid - b[1].uid);
    for (const [was, now] of updates) {
      const flagsDiffer = was.flags.join(' ') !== now.flags.join(' ');
      if (!flagsDiffer && was.modseq === now.modseq) continue;
      if (flagsDiffer || ext.condstore) {
        out.push(this.flagsLine(now.uid, ext, false));
        toldModseq = Math.max(toldModseq, now.modseq);
      }
    }
    // \Recent this read claimed for us — normally among the added, but a message an earlier
    // state of the same read showed (IDLE hears it as a watcher and a waiter) counts too.
    let moreRecent = false;
    if (snap.recent.size) {
      const mine = [...snap.recent].filter((uid) => !this.recent.has(uid) && this.seqHas(uid));
      if (mine.length) {
        this.recent = new Set([...this.recent, ...mine]);
        moreRecent = true;
      }
    }
    if (added.length) out.push(`${this.seq.length} EXISTS`);
    if ((added.length && snap.recent.size) || moreRecent) out.push(`${this.recent.size} RECENT`);
    this.uidNext = Math.max(this.uidNext, next.uidNext);
    // Expunges (and changes to ghosts) raise HIGHESTMODSEQ without a FETCH that says so.
    if (ext.condstore && allowExpunge && next.highestModseq > Math.max(toldModseq, this.highestModseq)) {
      let highest = toldModseq;
      for (const m of added) highest = Math.max(highest, m.modseq);
      if (next.highestModseq > highest) out.push(`OK [HIGHESTMODSEQ ${next.highestModseq}] Highest`);
    }
    if (allowExpunge || gone.length === 0)
      this.highestModseq = Math.max(this.highestModseq, next.highestModseq);
    return out;
  }

  /**
   * The fan-out of new mail, without the allocations of the general merge:
   * when the shared delta holds only new messages, the view moves onto
   * `next` and says EXISTS (and RECENT). Null when there is more to it.
   */
  private onlyAdded(next: FolderSnap, recent: ReadonlySet<number>): readonly string[] | null {
    const delta = next.deltaFrom(this.base);
    if (delta.expunged.length || delta.changed.length) return null;
    const added = next.uids.length - delta.addedFrom;
    this.base = next;
    this.seq = next.uids;
    this.uidNext = Math.max(this.uidNext, next.uidNext);
    this.highestModseq = Math.max(this.highestModseq, next.highestModseq);
    let moreRecent = false;
    if (recent.size) {
      const mine = [...recent].filter((uid) => !this.recent.has(uid) && this.seqHas(uid));
      if (mine.length) this.recent = new Set([...this.recent, ...mine]);
      moreRecent = mine.length > 0;
    }
    // The line every session of the fan-out sends, shared (Session.untaggedMany reuses its bytes).
    if (added && !recent.size) return next.existsLines;
    const out: string[] = [];
    if (added) out.push(`${this.seq.length} EXISTS`);
    if ((added && recent.size) || moreRecent) out.push(`${this.recent.size} RECENT`);
    return out;
  }

  private seqHas(uid: number): boolean {
    return indexIn(this.seq, uid) >= 0;
  }

  /**
   * The diff when this view has a sequence of its own (ghosts, its own
   * expunges) or the folder was rebuilt: a walk of the whole folder.
   */
  private diffOwn(next: FolderSnap): { gone: number[]; changed: MessageMeta[]; addedFrom: number } {
    const last = this.seq[this.seq.length - 1] ?? 0;
    const gone = this.seq.filter((u) => indexIn(next.uids, u) < 0);
    const changed: MessageMeta[] = [];
    const addedFrom = next.uids.findIndex((u) => u > last);
    const until = addedFrom < 0 ? next.messages.length : addedFrom;
    for (let i = 0; i < until; i++) {
      const m = next.messages[i] as MessageMeta;
      const was = this.metaOf(m.uid);
      // The objects are shared: the same one is the same message state.
      if (was && was !== m && (was.modseq !== m.modseq || was.flags.join(' ') !== m.flags.join(' ')))
        changed.push(m);
    }
    return { gone, changed, addedFrom: until };
  }
}

const NONE: Extensions = { condstore: false, qresync: false };
const NO_LINES: readonly string[] = [];
