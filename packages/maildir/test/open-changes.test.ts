// An open after a few changes makes only the changed messages again (store.ts
// changedOnly) and checks only the changed names of the listing (sync.ts
// Checked). What it returns must be what a fresh store reads from disk, and
// unchanged messages must stay the same objects (sessions share them).
import { renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliver, MaildirStore } from '../src/index.js';
import type { FolderSnapshot, MessageInfo } from '../src/types.js';
import { deliverN, msg, tempRoot } from './helpers.js';

const key = (m: MessageInfo) =>
  `${m.uid} ${m.base} ${m.path} ${m.flags.join(',')} ${m.modseq} ${m.recent} ${m.size} ${m.internalDate.getTime()}`;

/** The snapshot as a fresh store (no memory of earlier opens) reads it. */
async function fresh(root: string): Promise<string[]> {
  return (await new MaildirStore({ root, host: 'test.host' }).open('INBOX')).messages.map(key);
}

const kept = (before: FolderSnapshot, after: FolderSnapshot) => {
  const was = new Set(before.messages);
  return after.messages.filter((m) => was.has(m)).map((m) => m.uid);
};

describe('an open after a few changes', () => {
  it('matches a fresh read and keeps the unchanged messages, whoever made the changes', async () => {
    const root = tempRoot();
    await deliverN(root, 30, 1);
    const a = new MaildirStore({ root, host: 'test.host' });
    const other = new MaildirStore({ root, host: 'test.host' });
    let snap = await a.open('INBOX');
    await a.setFlags('INBOX', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'add', ['\\Seen']);
    snap = await a.open('INBOX');
    snap = await a.open('INBOX');

    // Another store (another process) flags three, expunges two.
    await other.setFlags('INBOX', [3, 12, 20], 'add', ['\\Flagged']);
    await other.setFlags('INBOX', [5, 25], 'add', ['\\Deleted']);
    await other.expunge('INBOX', [5, 25]);
    let next = await a.open('INBOX');
    expect(next.messages.map(key)).toEqual(await fresh(root));
    expect(kept(snap, next)).toEqual(
      snap.messages.map((m) => m.uid).filter((u) => ![3, 12, 20, 5, 25].includes(u)),
    );
    snap = next;

    // This store changes one, then a hand rename takes the change back without recording it:
    // the file name is as at the last open, but the recorded letters are not.
    await a.setFlags('INBOX', [7], 'add', ['\\Answered']);
    const m7 = (await a.open('INBOX')).messages.find((m) => m.uid === 7) as MessageInfo;
    snap = await a.open('INBOX');
    await a.setFlags('INBOX', [7], 'add', ['\\Draft']);
    const moved = snap.messages.find((m) => m.uid === 7) as MessageInfo;
    renameSync(join(root, 'cur', `${moved.base}:2,DRS`), m7.path);
    next = await a.open('INBOX');
    expect(next.messages.find((m) => m.uid === 7)?.flags).toEqual(['\\Answered', '\\Seen']);
    expect(next.messages.map(key)).toEqual(await fresh(root));
    snap = next;

    // By hand: a new/ file moved to cur/ with flags, one deleted, one delivered.
    const m15 = snap.messages.find((m) => m.uid === 15) as MessageInfo;
    expect(m15.recent).toBe(true);
    renameSync(m15.path, join(root, 'cur', `${m15.base}:2,F`));
    unlinkSync((snap.messages.find((m) => m.uid === 16) as MessageInfo).path);
    await deliver({ dir: root, deliveryKey: 'K31', time: 1700000031, host: 'mx', source: msg('m31') });
    next = await a.open('INBOX');
    expect(next.messages.map(key)).toEqual(await fresh(root));
    expect(next.messages.find((m) => m.uid === 15)?.flags).toEqual(['\\Flagged']);
    expect(next.messages.some((m) => m.uid === 16)).toBe(false);
    expect(next.messages.at(-1)?.uid).toBe(31);
    expect(kept(snap, next)).toEqual(
      snap.messages.map((m) => m.uid).filter((u) => u !== 15 && u !== 16 && u !== 31),
    );
  });
});
