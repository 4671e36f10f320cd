// Shared folder state (issue 8), as pure logic: SharedFolders over a fake
// inner store that counts its reads, and MailboxViews over the snapshots it
// hands out. Proves one read per burst of opens, one FolderSnap for all
// sessions while nothing changed, \Recent to exactly one claimer, and that
// views sharing a snapshot still keep their own sequence numbers.
import { describe, expect, it } from 'vitest';
import { FolderSnap } from '../src/folder-snapshot.js';
import { MailboxView } from '../src/mailbox-view.js';
import { readClock, SharedFolders } from '../src/shared-folders.js';
import type { MailboxSnapshot, MailStore, MessageMeta } from '../src/store.js';

const msg = (uid: number, flags: string[] = [], modseq = 1): MessageMeta => ({
  uid,
  flags,
  modseq,
  size: 10,
  internalDate: new Date(0),
});

/** A folder whose state the test sets; open() returns it like the Maildir adapter does (a fresh array). */
class FakeFolder {
  messages: MessageMeta[] = [];
  highest = 1;
  uidNext = 1;
  /** UIDs the next claiming open finds in new/. */
  unclaimed = new Set<number>();
  opens: boolean[] = [];

  add(...ms: MessageMeta[]): void {
    this.messages.push(...ms);
    for (const m of ms) {
      this.highest = Math.max(this.highest, m.modseq);
      this.uidNext = Math.max(this.uidNext, m.uid + 1);
    }
  }

  store(): MailStore {
    return {
      open: async (_name: string, claim: boolean): Promise<MailboxSnapshot> => {
        this.opens.push(claim);
        const recent = claim ? new Set(this.unclaimed) : new Set<number>();
        if (claim) this.unclaimed.clear();
        return {
          uidValidity: 7,
          uidNext: this.uidNext,
          messages: this.messages.slice(),
          recent,
          keywords: [],
          highestModseq: this.highest,
        };
      },
    } as unknown as MailStore;
  }
}

const NONE = { condstore: false, qresync: false };

describe('SharedFolders', () => {
  it('serves opens that arrive together with one read and one shared state', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1), msg(2), msg(3));
    const store = new SharedFolders(folder.store());
    const snaps = await Promise.all(Array.from({ length: 50 }, (_, i) => store.open('INBOX', i % 2 === 0)));
    expect(folder.opens).toEqual([true]); // one read, claiming because some callers asked to
    expect(store.reads).toBe(1);
    const shared = snaps[0]?.shared;
    expect(shared).toBeInstanceOf(FolderSnap);
    for (const s of snaps) expect(s.shared).toBe(shared);
    // Nothing changed: a later read hands out the very same state.
    const again = await store.open('inbox', false);
    expect(store.reads).toBe(2);
    expect(again.shared).toBe(shared);
    // A flag change: a new state.
    folder.messages[1] = msg(2, ['\\Seen'], 2);
    folder.highest = 2;
    const changed = await store.open('INBOX', false);
    expect(changed.shared).not.toBe(shared);
    expect(changed.shared?.metaOf(2)?.flags).toEqual(['\\Seen']);
  });

  it('gives what a read claimed (\\Recent) to exactly one caller that claims', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1), msg(2));
    folder.unclaimed = new Set([2]);
    const store = new SharedFolders(folder.store());
    const snaps = await Promise.all([
      store.open('INBOX', false), // EXAMINE: never \Recent
      store.open('INBOX', true),
      store.open('INBOX', true),
    ]);
    expect(snaps.map((s) => [...s.recent])).toEqual([[], [2], []]);
  });

  it('gives a caller that comes while a read runs a later read', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1));
    const store = new SharedFolders(folder.store());
    const first = store.open('INBOX', false);
    // The first read starts on the next turn of the event loop; this one asks after it started.
    await new Promise((r) => setImmediate(r));
    folder.add(msg(2, [], 2));
    const second = store.open('INBOX', false);
    const third = store.open('INBOX', false);
    expect((await first).messages.map((m) => m.uid)).toEqual([1]);
    expect((await second).messages.map((m) => m.uid)).toEqual([1, 2]);
    expect((await third).shared).toBe((await second).shared);
    expect(store.reads).toBe(2);
  });

  it('lets N views diff against one new state: EXISTS for all, one delta worked out', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1), msg(2));
    const store = new SharedFolders(folder.store());
    const views = (await Promise.all(Array.from({ length: 100 }, () => store.open('INBOX', false)))).map(
      (s) => new MailboxView('INBOX', false, s),
    );
    folder.add(msg(3, [], 3));
    folder.messages[0] = msg(1, ['\\Flagged'], 4);
    folder.highest = 4;
    const next = await Promise.all(views.map(() => store.open('INBOX', true)));
    expect(store.reads).toBe(2);
    for (const [i, v] of views.entries())
      expect(v.sync(next[i] as MailboxSnapshot, true, NONE)).toEqual([
        '1 FETCH (FLAGS (\\Flagged))',
        '3 EXISTS',
      ]);
    // Every view now reads the shared state itself: no per-view copy of the folder.
    for (const v of views) expect(v.uids).toBe(next[0]?.shared?.uids);
  });
});

describe('views sharing one state keep their own sequence numbers (RFC 3501 §7.4.1)', () => {
  it('holds ghosts until EXPUNGE may be sent, and numbers flag changes in its own sequence', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1), msg(2), msg(3), msg(4));
    const store = new SharedFolders(folder.store());
    const a = new MailboxView('INBOX', false, await store.open('INBOX', false));
    const b = new MailboxView('INBOX', false, await store.open('INBOX', false));
    // b expunges 2 itself: its own sequence from now on, a still shares the folder's.
    expect(b.remove(new Set([2]), NONE)).toEqual(['2 EXPUNGE']);
    expect(b.uids).toEqual([1, 3, 4]);
    expect(a.uids).toEqual([1, 2, 3, 4]);
    folder.messages = [msg(1), msg(3), msg(4, ['\\Flagged'], 6)];
    folder.highest = 6;
    const snap = await store.open('INBOX', false);
    // a is inside FETCH (no EXPUNGE allowed): 2 stays as a ghost, 4 is still number 4.
    expect(a.sync(snap, false, NONE)).toEqual(['4 FETCH (FLAGS (\\Flagged))']);
    expect(a.exists).toBe(4);
    expect(a.meta.get(2)?.uid).toBe(2);
    expect(a.dirty).toBe(true);
    // b already reported its expunge: 4 is number 3 there.
    expect(b.sync(snap, true, NONE)).toEqual(['3 FETCH (FLAGS (\\Flagged))']);
    expect(b.uids).toBe(snap.shared?.uids);
    // At a's next NOOP the ghost goes; then a shares the folder's sequence again.
    expect(a.sync(await store.open('INBOX', false), true, NONE)).toEqual(['2 EXPUNGE']);
    expect(a.uids).toEqual([1, 3, 4]);
    expect(a.uids).toBe(snap.shared?.uids);
  });

  it('remembers its own flag changes over the shared state until the folder has them', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1), msg(2));
    const store = new SharedFolders(folder.store());
    const a = new MailboxView('INBOX', false, await store.open('INBOX', false));
    const b = new MailboxView('INBOX', false, await store.open('INBOX', false));
    // a stored \Seen on 2 (as STORE does): a was told, b was not.
    a.meta.set(2, msg(2, ['\\Seen'], 2));
    expect(a.flagsLine(2, NONE, false)).toBe('2 FETCH (FLAGS (\\Seen))');
    expect(b.meta.get(2)?.flags).toEqual([]);
    folder.messages[1] = msg(2, ['\\Seen'], 2);
    folder.highest = 2;
    const snap = await store.open('INBOX', false);
    expect(a.sync(snap, true, NONE)).toEqual([]);
    expect(b.sync(snap, true, NONE)).toEqual(['2 FETCH (FLAGS (\\Seen))']);
    expect(a.uids).toBe(b.uids);
  });
});

describe('reads shared beyond one burst', () => {
  it('gives a caller that needs a state read after some moment the last read, when it started after it', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1));
    const store = new SharedFolders(folder.store());
    const heard = readClock(); // an event heard now
    const first = await store.open('INBOX', true);
    expect(store.reads).toBe(1);
    // Started after the event: taken as it is, no read.
    const reused = await store.open('INBOX', true, heard);
    expect(store.reads).toBe(1);
    expect(reused.shared).toBe(first.shared);
    // An event heard after that read started: a read of its own.
    const later = readClock();
    folder.add(msg(2, [], 2));
    expect((await store.open('INBOX', false, later)).messages.map((m) => m.uid)).toEqual([1, 2]);
    expect(store.reads).toBe(2);
    // A claiming caller never takes a read that left new/ alone (it would lose \Recent).
    const before = readClock() - 1;
    await store.open('INBOX', true, before);
    expect(store.reads).toBe(3);
    expect(folder.opens).toEqual([true, false, true]);
  });

  it('lets a caller join a read already running when it started after the moment given', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1));
    const store = new SharedFolders(folder.store());
    const heard = readClock();
    const first = store.open('INBOX', false);
    await new Promise((r) => setImmediate(r)); // the read has started
    const joined = store.open('INBOX', false, heard);
    const fresh = store.open('INBOX', false); // asked now: the next read
    expect((await joined).shared).toBe((await first).shared);
    await fresh;
    expect(store.reads).toBe(2);
  });

  it('pushes each new state to every watcher, polls once per interval for all, and stops with the last', async () => {
    const folder = new FakeFolder();
    folder.add(msg(1));
    folder.unclaimed = new Set();
    const store = new SharedFolders(folder.store());
    const got: Array<Array<{ uids: number[]; recent: number[] }>> = [[], [], []];
    const stops = got.map((seen, i) =>
      store.watch('INBOX', i > 0, 20, (snap) =>
        seen.push({ uids: snap.messages.map((m) => m.uid), recent: [...snap.recent] }),
      ),
    );
    // A change nobody announced: the next poll reads once, for all three.
    folder.add(msg(2, [], 2));
    folder.unclaimed = new Set([2]);
    while (got[0]?.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(store.reads).toBe(1);
    expect(folder.opens).toEqual([true]); // some watchers claim
    expect(got.map((g) => g[0]?.uids)).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    // \Recent to one claiming watcher only; the EXAMINE-like one never.
    expect(got.map((g) => g[0]?.recent)).toEqual([[], [2], []]);
    // An event (changed()) from every session in one tick: one read.
    folder.add(msg(3, [], 3));
    for (let i = 0; i < 3; i++) store.changed('inbox');
    const reads = store.reads;
    while (!got[0]?.at(-1)?.uids.includes(3)) await new Promise((r) => setTimeout(r, 1));
    expect(store.reads).toBeLessThanOrEqual(reads + 1);
    expect(got.map((g) => g.at(-1)?.uids)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    for (const stop of stops) stop();
    // No watcher, no poll: nothing is read any more.
    const last = store.reads;
    await new Promise((r) => setTimeout(r, 60));
    expect(store.reads).toBe(last);
  });
});
