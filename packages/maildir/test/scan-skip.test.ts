// A warm open skips listing new/ and cur/ when neither directory changed
// since the last look (sync.ts KnownScan, as Dovecot compares directory
// times). Every change made behind the store's back after the directories
// settled — a delivery by another process, a hand-made flag rename, a
// deletion, a file dropped in by an admin — must still be seen.
import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { deliver, MaildirStore } from '../src/index.js';
import { deliverN, msg, tempRoot } from './helpers.js';

/** Longer than sync.ts's SETTLE_MS: then the directory stamp is trusted on any file system and the listing skipped. */
const settle = () => sleep(2300);

async function deliverOne(root: string, i: number): Promise<void> {
  await deliver({ dir: root, deliveryKey: `K${i}`, time: 1700000000 + i, host: 'mx', source: msg(`m${i}`) });
}

describe('skipping the folder listing on a warm open', () => {
  it('still sees deliveries, hand-made renames, deletions and files copied in', async () => {
    const root = tempRoot();
    const s = new MaildirStore({ root, host: 'test.host' });
    await deliverOne(root, 1);
    await deliverOne(root, 2);
    expect((await s.open('INBOX')).messages.map((m) => m.uid)).toEqual([1, 2]);
    await settle();
    // Two opens with settled directories: the second takes the skip path.
    await s.open('INBOX');
    expect((await s.open('INBOX')).messages.map((m) => m.uid)).toEqual([1, 2]);

    // Another process delivers.
    await deliverOne(root, 3);
    expect((await s.open('INBOX')).messages.map((m) => m.uid)).toEqual([1, 2, 3]);

    await settle();
    await s.open('INBOX');
    // A flag rename by hand (another program).
    const m2 = (await s.open('INBOX')).messages[1];
    if (!m2) throw new Error('no message 2');
    renameSync(m2.path, join(root, 'cur', `${m2.base}:2,S`));
    let snap = await s.open('INBOX');
    expect(snap.messages[1]?.flags).toEqual(['\\Seen']);

    await settle();
    await s.open('INBOX');
    // A deletion by hand.
    unlinkSync(snap.messages[0]?.path as string);
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([2, 3]);

    await settle();
    await s.open('INBOX');
    // An admin copies a file into new/.
    writeFileSync(join(root, 'new', '1800000000.M1P1.admin,S=9'), 'hi there!');
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([2, 3, 4]);
  });
});

// Within SETTLE_MS of a change the listing is skipped only once the file system's
// clock has moved past the directories' times (see below), and the one-pass
// check of it (sync.ts: every file's base listed, its letters the recorded
// ones, as many files as UIDs) must catch what others did right beside our
// own changes — also a swap that leaves the number of files the same.
describe('the one-pass check of a fresh listing', () => {
  it('sees foreign renames, a swap and a new/ → cur/ move made in the same instant as our own change', async () => {
    const root = tempRoot();
    const s = new MaildirStore({ root, host: 'test.host' });
    for (let i = 1; i <= 4; i++) await deliverOne(root, i);
    let snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4]);
    const [m1, m2, m3, m4] = snap.messages;
    if (!m1 || !m2 || !m3 || !m4) throw new Error('missing messages');

    // Our own flag change, then at once another program's rename of another message.
    await s.setFlags('INBOX', [1], 'add', ['\\Flagged']);
    renameSync(m2.path, join(root, 'cur', `${m2.base}:2,S`));
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => [m.uid, m.flags])).toEqual([
      [1, ['\\Flagged']],
      [2, ['\\Seen']],
      [3, []],
      [4, []],
    ]);
    const before = snap.highestModseq;

    // Our change again, and a swap behind our back: one file goes, another comes — same count.
    await s.setFlags('INBOX', [4], 'add', ['\\Answered']);
    unlinkSync(m3.path);
    writeFileSync(join(root, 'new', '1800000000.M1P1.admin,S=9'), 'hi there!');
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([1, 2, 4, 5]);
    expect(snap.messages.find((m) => m.uid === 4)?.flags).toEqual(['\\Answered']);
    expect(snap.highestModseq).toBeGreaterThan(before);

    // A new/ → cur/ move with no flags keeps the message (and its letters are still none).
    const m5 = snap.messages.find((m) => m.uid === 5);
    if (!m5) throw new Error('no message 5');
    renameSync(m5.path, join(root, 'cur', `${m5.base}:2,`));
    await s.setFlags('INBOX', [1], 'remove', ['\\Flagged']);
    snap = await s.open('INBOX');
    expect(snap.messages.map((m) => [m.uid, m.flags, m.recent])).toEqual([
      [1, [], false],
      [2, ['\\Seen'], false],
      [4, ['\\Answered'], false],
      [5, [], false],
    ]);
    // A second store (another process) sees the same.
    const other = new MaildirStore({ root, host: 'test.host' });
    expect((await other.open('INBOX')).messages.map((m) => [m.uid, m.flags])).toEqual(
      snap.messages.map((m) => [m.uid, m.flags]),
    );
  });
});

// Right after a change the directory times are trusted once the file system's
// own clock has moved past them (sync.ts trustedStamp: CLOCK_FILE is written,
// then the directories looked at): the open after our STORE or EXPUNGE records
// the listing and the next one may skip it. What another program does at
// once after that must change the stamp, so it is still seen.
describe('skipping the listing right after our own changes', () => {
  it('sees every foreign rename, deletion and delivery made at once after our STORE and EXPUNGE', async () => {
    const root = tempRoot();
    const s = new MaildirStore({ root, host: 'test.host' });
    await deliverN(root, 16);
    await s.open('INBOX');
    /** What a store that never looked before finds, and the files really there. */
    const truth = async () => {
      const fresh = await new MaildirStore({ root, host: 'test.host' }).open('INBOX');
      return fresh.messages.map((m) => [m.uid, m.flags, m.path]);
    };
    const onDisk = () =>
      ['new', 'cur'].flatMap((sub) => readdirSync(join(root, sub)).map((n) => join(root, sub, n))).sort();
    const foreign = (i: number, victim: { path: string; base: string }) => {
      if (i % 3 === 0) renameSync(victim.path, join(root, 'cur', `${victim.base}:2,S`));
      else if (i % 3 === 1) unlinkSync(victim.path);
      else writeFileSync(join(root, 'new', `${1800000000 + i}.M${i}P1.admin,S=9`), 'hi there!');
    };
    for (let i = 0; i < 6; i++) {
      let snap = await s.open('INBOX');
      const [ours, victim, gone] = snap.messages.slice(i % 2);
      if (!ours || !victim || !gone) throw new Error('too few messages');
      // Our STORE, the open that records the listing, then another program at once.
      await s.setFlags('INBOX', [ours.uid], 'add', ['\\Flagged']);
      await s.open('INBOX');
      foreign(i, victim);
      snap = await s.open('INBOX');
      expect(snap.messages.map((m) => [m.uid, m.flags, m.path])).toEqual(await truth());
      expect(snap.messages.map((m) => m.path).sort()).toEqual(onDisk());

      // Our EXPUNGE (its sync records the listing), then another program at once.
      await s.setFlags('INBOX', [gone.uid], 'add', ['\\Deleted']);
      await s.expunge('INBOX', [gone.uid]);
      const next = snap.messages.find(
        (m) => m.uid !== ours.uid && m.uid !== victim.uid && m.uid !== gone.uid,
      );
      if (!next) throw new Error('too few messages');
      foreign(i + 1, next);
      snap = await s.open('INBOX');
      expect(snap.messages.map((m) => m.uid)).not.toContain(gone.uid);
      expect(snap.messages.map((m) => [m.uid, m.flags, m.path])).toEqual(await truth());
      expect(snap.messages.map((m) => m.path).sort()).toEqual(onDisk());
    }
  });
});
