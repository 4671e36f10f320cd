// A session's view of its selected mailbox: the sequence-number ↔ UID map
// and the flags this client was last told. Sequence numbers change only when
// this session reports EXPUNGE (RFC 3501 §7.4.1), so other processes' changes
// are merged by `sync` only where the RFC allows untagged EXPUNGE/EXISTS.
// With CONDSTORE enabled (RFC 7162 §3.1) flag changes are reported with UID
// and MODSEQ; with QRESYNC (§3.2.10) expunges as one VANISHED, not EXPUNGEs.

import { formatSet, inSet, resolveRanges, type SeqSet } from './protocol/sequence.js';
import type { Wire } from './protocol/serialize.js';
import { raw } from './protocol/serialize.js';
import type { MailboxSnapshot, MessageMeta } from './store.js';

/** Which RFC 7162 extensions the session has enabled. */
export interface Extensions {
  condstore: boolean;
  qresync: boolean;
}

export class MailboxView {
  uids: number[];
  meta = new Map<number, MessageMeta>();
  uidValidity: number;
  uidNext: number;
  recent: Set<number>;
  keywords: string[];
  /** The HIGHESTMODSEQ this client was last told of (or could infer). */
  highestModseq: number;
  /** Something may have changed on disk (an event arrived) since the last sync. */
  dirty = false;
  /** When the view was last merged with the folder on disk. */
  syncedAt = Date.now();

  constructor(
    readonly name: string,
    readonly readOnly: boolean,
    snap: MailboxSnapshot,
  ) {
    this.uids = snap.messages.map((m) => m.uid);
    for (const m of snap.messages) this.meta.set(m.uid, m);
    this.uidValidity = snap.uidValidity;
    this.uidNext = snap.uidNext;
    this.recent = snap.recent;
    this.keywords = snap.keywords;
    this.highestModseq = snap.highestModseq;
  }

  get exists(): number {
    return this.uids.length;
  }

  seqOf(uid: number): number {
    // Binary search: uids ascend.
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid] as number;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Message sequence set → UIDs; null when a number is beyond EXISTS (RFC 3501 §9: invalid → BAD). */
  bySeq(set: SeqSet): number[] | null {
    const ranges = resolveRanges(set, this.uids.length);
    const out: number[] = [];
    for (const [a, b] of ranges) {
      if (a < 1 || b > this.uids.length) return null;
    }
    this.uids.forEach((uid, i) => {
      if (inSet(i + 1, ranges)) out.push(uid);
    });
    return out;
  }

  /** UID set → existing UIDs; `*` is the highest UID in use (RFC 3501 §6.4.8). */
  byUid(set: SeqSet): number[] {
    const max = this.uids.length ? (this.uids[this.uids.length - 1] as number) : 0;
    const ranges = resolveRanges(set, max);
    return this.uids.filter((u) => inSet(u, ranges));
  }

  flagsOf(uid: number): Wire {
    const flags = this.meta.get(uid)?.flags ?? [];
    const list = this.recent.has(uid) ? [...flags, '\\Recent'] : flags;
    return list.map((f) => raw(f));
  }

  /** The FETCH line that tells of a flag change (RFC 3501 §7.4.2; RFC 7162 §3.1: with UID and MODSEQ). */
  flagsLine(uid: number, ext: Extensions, withUid: boolean, withFlags = true): string {
    const meta = this.meta.get(uid);
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
    const out: string[] = [];
    const uids: number[] = [];
    for (let i = this.uids.length - 1; i >= 0; i--) {
      const uid = this.uids[i] as number;
      if (!gone.has(uid)) continue;
      out.push(`${i + 1} EXPUNGE`);
      uids.push(uid);
      this.uids.splice(i, 1);
      this.meta.delete(uid);
      this.recent.delete(uid);
    }
    if (ext.qresync) return uids.length ? [`VANISHED ${formatSet(uids)}`] : [];
    return out;
  }

  /**
   * Merges a fresh snapshot; returns untagged responses. Without
   * `allowExpunge`, vanished messages stay (as ghosts) so numbers do not move.
   */
  sync(snap: MailboxSnapshot, allowExpunge: boolean, ext: Extensions = NONE): string[] {
    const out: string[] = [];
    this.dirty = false;
    this.syncedAt = Date.now();
    const fresh = new Map(snap.messages.map((m) => [m.uid, m]));
    // Ghosts kept for now must be reported at the next point that allows EXPUNGE.
    const gone = new Set(this.uids.filter((u) => !fresh.has(u)));
    if (!allowExpunge && gone.size) this.dirty = true;
    if (allowExpunge) for (const line of this.remove(gone, ext)) out.push(line);
    // Flag changes made by others (RFC 3501 §7.4.2: unsolicited FETCH); with
    // CONDSTORE also a new modseq alone (flags changed and changed back).
    let told = 0;
    this.uids.forEach((uid) => {
      const was = this.meta.get(uid);
      const now = fresh.get(uid);
      if (!was || !now) return;
      const flagsDiffer = was.flags.join(' ') !== now.flags.join(' ');
      if (!flagsDiffer && was.modseq === now.modseq) return;
      this.meta.set(uid, now);
      if (flagsDiffer || ext.condstore) {
        out.push(this.flagsLine(uid, ext, false));
        told = Math.max(told, now.modseq);
      }
    });
    const last = this.uids.length ? (this.uids[this.uids.length - 1] as number) : 0;
    const added = snap.messages.filter((m) => m.uid > last);
    for (const m of added) {
      this.uids.push(m.uid);
      this.meta.set(m.uid, m);
      if (snap.recent.has(m.uid)) this.recent.add(m.uid);
    }
    if (added.length) {
      out.push(`${this.uids.length} EXISTS`);
      if (snap.recent.size) out.push(`${this.recent.size} RECENT`);
    }
    this.uidNext = Math.max(this.uidNext, snap.uidNext);
    // Expunges (and changes to ghosts) raise HIGHESTMODSEQ without a FETCH that says so.
    if (ext.condstore && allowExpunge && snap.highestModseq > Math.max(told, this.highestModseq)) {
      let highest = told;
      for (const m of added) highest = Math.max(highest, m.modseq);
      if (snap.highestModseq > highest) out.push(`OK [HIGHESTMODSEQ ${snap.highestModseq}] Highest`);
    }
    if (allowExpunge || gone.size === 0)
      this.highestModseq = Math.max(this.highestModseq, snap.highestModseq);
    return out;
  }
}

const NONE: Extensions = { condstore: false, qresync: false };
