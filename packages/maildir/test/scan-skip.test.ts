// A warm open skips listing new/ and cur/ when neither directory changed
// since the last look (sync.ts KnownScan, as Dovecot compares directory
// times). Every change made behind the store's back after the directories
// settled — a delivery by another process, a hand-made flag rename, a
// deletion, a file dropped in by an admin — must still be seen.
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { deliver, MaildirStore } from '../src/index.js';
import { msg, tempRoot } from './helpers.js';

/** Longer than sync.ts's SETTLE_MS: only then is the directory stamp trusted and the listing skipped. */
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
