// Modification sequences (RFC 7162) on the shared Maildir: given under the
// folder lock, persistent, shared by every store object (process) on the
// folder, and given to changes made behind the store's back at the next sync.
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FlagUpdate, MaildirStore, MODSEQ_FILE, UIDLIST_FILE } from '../src/index.js';
import { expungedSince, type ModseqState } from '../src/modseq.js';
import { deliverN, msg, runWorker, tempRoot } from './helpers.js';

const store = (root = tempRoot()) => new MaildirStore({ root, host: 'test.host' });

const modseqs = async (s: MaildirStore) =>
  Object.fromEntries((await s.open('INBOX')).messages.map((m) => [m.uid, m.modseq]));

describe('modification sequences', () => {
  it('ascend with every new message, flag change and expunge; a STORE that changes nothing keeps them', async () => {
    const s = store();
    await s.append('INBOX', msg('a'));
    await s.append('INBOX', msg('b'));
    let snap = await s.open('INBOX');
    const [a, b] = snap.messages.map((m) => m.modseq) as [number, number];
    expect(b).toBeGreaterThan(a);
    expect(snap.highestModseq).toBe(b);

    const [u] = await s.setFlags('INBOX', [1], 'add', ['\\Seen']);
    expect(u?.modseq).toBe(b + 1);
    const [same] = await s.setFlags('INBOX', [1], 'add', ['\\Seen']);
    expect(same).toEqual({ uid: 1, flags: ['\\Seen'], modseq: b + 1 });
    snap = await s.open('INBOX');
    expect(snap.highestModseq).toBe(b + 1);
    expect(snap.messages[0]?.modseq).toBe(b + 1);

    expect(await s.expunge('INBOX', [2])).toEqual([2]);
    snap = await s.open('INBOX');
    expect(snap.highestModseq).toBe(b + 2);
    expect(await s.expungedSince('INBOX', b + 1)).toEqual([2]);
    expect(await s.expungedSince('INBOX', b + 2)).toEqual([]);
  });

  it('UNCHANGEDSINCE changes only messages not modified since, atomically under the lock', async () => {
    const s = store();
    await deliverN(s.root, 3);
    const before = await modseqs(s);
    const base = Math.max(...Object.values(before));
    await s.setFlags('INBOX', [2], 'add', ['\\Flagged']);
    const r = await s.setFlags('INBOX', [1, 2, 3], 'add', ['\\Deleted'], { unchangedSince: base });
    expect(r).toEqual([
      { uid: 1, flags: ['\\Deleted'], modseq: base + 2 },
      { uid: 2, flags: ['\\Flagged'], modseq: base + 1, modified: true },
      { uid: 3, flags: ['\\Deleted'], modseq: base + 3 },
    ]);
    // UNCHANGEDSINCE 0 fails for every message (RFC 7162 §3.1.3: modseqs are at least 1).
    const none = await s.setFlags('INBOX', [1], 'remove', ['\\Deleted'], { unchangedSince: 0 });
    expect(none[0]?.modified).toBe(true);
  });

  it('are shared by every store on the folder and survive a fresh start', async () => {
    const root = tempRoot();
    const one = store(root);
    const two = store(root);
    await deliverN(root, 2);
    const start = await modseqs(one);
    const [changed] = await two.setFlags('INBOX', [2], 'add', ['\\Answered']);
    const seen = await modseqs(one);
    expect(seen[2]).toBe(changed?.modseq);
    expect(seen[1]).toBe(start[1]);
    const lines = readFileSync(join(root, MODSEQ_FILE), 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^postamt-modseq 1 \d+ \d+ \d+$/);
    expect(lines.at(-1)).toBe(`${changed?.modseq} 2 R`);
  });

  it('are shared with another process that changes flags and expunges', async () => {
    const root = tempRoot();
    const s = store(root);
    await deliverN(root, 4);
    const before = await s.open('INBOX');
    const run = await runWorker([root, 'flag-expunge', '2', '1']);
    const { flagged, removed } = JSON.parse(run.stdout) as { flagged: FlagUpdate[]; removed: number[] };
    expect(removed).toEqual([3]);
    expect(flagged[0]?.modseq).toBe(before.highestModseq + 1);
    const after = await s.open('INBOX');
    expect(after.messages.map((m) => [m.uid, m.modseq])).toEqual([
      [1, before.messages[0]?.modseq],
      [2, before.highestModseq + 1],
      [4, before.messages[3]?.modseq],
    ]);
    expect(after.highestModseq).toBe(before.highestModseq + 2);
    expect(await s.expungedSince('INBOX', before.highestModseq)).toEqual([3]);
    // What this process writes next continues the other's sequence.
    const [next] = await s.setFlags('INBOX', [1], 'add', ['\\Seen']);
    expect(next?.modseq).toBe(before.highestModseq + 3);
  });

  it('give files renamed or removed behind the store its back a new modseq at the next sync', async () => {
    const s = store();
    await deliverN(s.root, 3);
    let snap = await s.open('INBOX');
    const high = snap.highestModseq;
    const m2 = snap.messages[1]!;
    // By hand: \Seen \Flagged on message 2, message 3 deleted.
    renameSync(m2.path, join(s.root, 'cur', `${m2.base}:2,FS`));
    unlinkSync(snap.messages[2]!.path);
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([1, 2]);
    expect(snap.messages[1]?.flags).toEqual(['\\Flagged', '\\Seen']);
    expect(snap.messages[1]?.modseq).toBeGreaterThan(high);
    expect(snap.messages[0]?.modseq).toBeLessThanOrEqual(high);
    expect(snap.highestModseq).toBe(high + 2);
    expect(await s.expungedSince('INBOX', high)).toEqual([3]);
    // Nothing changed since: the next open finds everything in step, without writing.
    const size = readFileSync(join(s.root, MODSEQ_FILE)).length;
    expect((await s.open('INBOX')).highestModseq).toBe(high + 2);
    expect(readFileSync(join(s.root, MODSEQ_FILE)).length).toBe(size);
  });

  it('checks a hand-made change before an UNCHANGEDSINCE test', async () => {
    const s = store();
    await deliverN(s.root, 1);
    const snap = await s.open('INBOX');
    const m = snap.messages[0]!;
    renameSync(m.path, join(s.root, 'cur', `${m.base}:2,S`));
    const [r] = await s.setFlags('INBOX', [1], 'add', ['\\Deleted'], { unchangedSince: snap.highestModseq });
    expect(r).toMatchObject({ modified: true, flags: ['\\Seen'] });
    expect(r?.modseq).toBe(snap.highestModseq + 1);
    expect(readdirSync(join(s.root, 'cur'))).toEqual([`${m.base}:2,S`]);
  });

  it('compact the file once dead lines dominate, keeping every value', async () => {
    const s = store();
    await deliverN(s.root, 3);
    for (let i = 0; i < 340; i++) await s.setFlags('INBOX', [1, 2, 3], i % 2 ? 'remove' : 'add', ['\\Seen']);
    const snap = await s.open('INBOX');
    expect(snap.highestModseq).toBe(1 + 340 * 3);
    expect(snap.messages.map((m) => m.modseq)).toEqual([1019, 1020, 1021]);
    const lines = readFileSync(join(s.root, MODSEQ_FILE), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(100);
    expect(lines[0]).toMatch(/^postamt-modseq 1 \d+ 1 \d+$/);
    expect(await modseqs(store(s.root))).toEqual({ 1: 1019, 2: 1020, 3: 1021 });
  });

  it('are rebuilt with a new UIDVALIDITY, never going down', async () => {
    const s = store();
    await deliverN(s.root, 2);
    await s.setFlags('INBOX', [1, 2], 'add', ['\\Seen']);
    const before = await s.open('INBOX');
    // As if the list had been rebuilt (lost, or restored from an old backup).
    const list = join(s.root, UIDLIST_FILE);
    const text = readFileSync(list, 'utf8').replace(
      /^(postamt-uidlist \d) (\d+)/,
      `$1 ${before.uidValidity - 7}`,
    );
    writeFileSync(`${list}.new`, text);
    renameSync(`${list}.new`, list);
    const after = await store(s.root).open('INBOX');
    expect(after.uidValidity).toBe(before.uidValidity - 7);
    expect(after.highestModseq).toBeGreaterThan(before.highestModseq);
    expect(after.messages.every((m) => m.modseq === after.highestModseq)).toBe(true);
  });

  it('survive a damaged file without going down', async () => {
    const s = store();
    await deliverN(s.root, 2);
    await s.setFlags('INBOX', [1, 2], 'add', ['\\Seen']);
    const before = await s.open('INBOX');
    const path = join(s.root, MODSEQ_FILE);
    writeFileSync(`${path}.new`, `${readFileSync(path, 'utf8')}garbage line\n`);
    renameSync(`${path}.new`, path);
    const after = await store(s.root).open('INBOX');
    expect(after.uidValidity).toBe(before.uidValidity);
    expect(after.highestModseq).toBe(before.highestModseq + 1);
    expect(after.messages.every((m) => m.modseq === after.highestModseq)).toBe(true);
  });

  it('answer VANISHED questions only as far back as the bounded log goes', () => {
    const state: ModseqState = {
      uidValidity: 1,
      floor: 10,
      highest: 14,
      msgs: new Map(),
      vanished: [
        [4, 11],
        [9, 12],
        [2, 14],
      ],
    };
    expect(expungedSince(state, 9)).toBeNull();
    expect(expungedSince(state, 10)).toEqual([2, 4, 9]);
    expect(expungedSince(state, 11)).toEqual([2, 9]);
    expect(expungedSince(state, 14)).toEqual([]);
  });
});
