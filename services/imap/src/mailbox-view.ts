// A session's view of its selected mailbox: the sequence-number ↔ UID map
// and the flags this client was last told. Sequence numbers change only when
// this session reports EXPUNGE (RFC 3501 §7.4.1), so other processes' changes
// are merged by `sync` only where the RFC allows untagged EXPUNGE/EXISTS.

import { inSet, resolveRanges, type SeqSet } from './protocol/sequence.js';
import type { Wire } from './protocol/serialize.js';
import { raw } from './protocol/serialize.js';
import type { MailboxSnapshot, MessageMeta } from './store.js';

export class MailboxView {
  uids: number[];
  meta = new Map<number, MessageMeta>();
  uidValidity: number;
  uidNext: number;
  recent: Set<number>;
  keywords: string[];
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

  /**
   * Merges a fresh snapshot; returns untagged responses. Without
   * `allowExpunge`, vanished messages stay (as ghosts) so numbers do not move.
   */
  sync(snap: MailboxSnapshot, allowExpunge: boolean): string[] {
    const out: string[] = [];
    this.dirty = false;
    this.syncedAt = Date.now();
    const fresh = new Map(snap.messages.map((m) => [m.uid, m]));
    // Ghosts kept for now must be reported at the next point that allows EXPUNGE.
    if (!allowExpunge && this.uids.some((u) => !fresh.has(u))) this.dirty = true;
    if (allowExpunge) {
      // Highest first, so each reported number is still valid when the client applies it.
      for (let i = this.uids.length - 1; i >= 0; i--) {
        const uid = this.uids[i] as number;
        if (!fresh.has(uid)) {
          out.push(`${i + 1} EXPUNGE`);
          this.uids.splice(i, 1);
          this.meta.delete(uid);
          this.recent.delete(uid);
        }
      }
    }
    // Flag changes made by others (RFC 3501 §7.4.2: unsolicited FETCH).
    this.uids.forEach((uid, i) => {
      const was = this.meta.get(uid);
      const now = fresh.get(uid);
      if (was && now && was.flags.join(' ') !== now.flags.join(' ')) {
        this.meta.set(uid, now);
        out.push(
          `${i + 1} FETCH (FLAGS (${[...now.flags, ...(this.recent.has(uid) ? ['\\Recent'] : [])].join(' ')}))`,
        );
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
    return out;
  }
}
