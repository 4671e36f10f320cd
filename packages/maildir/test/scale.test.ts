// What keeps big folders cheap (issue 8): changes cost their own size, not
// the folder's — the UID list and the index are appended to, an APPEND gives
// out its UID without listing the folder, a file renamed behind the store is
// found by one scan for all, a first delivery does not list new/ and cur/.
// Each test checks the behaviour and the shape on disk, not timings.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deliver,
  INDEX_FILE,
  MaildirStore,
  releaseClaims,
  SUMMARY_FILE,
  UIDLIST_FILE,
} from '../src/index.js';
import { deliverN, msg, tempRoot } from './helpers.js';

const store = (root = tempRoot(), extra = {}) => new MaildirStore({ root, host: 'test.host', ...extra });

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('big-folder paths', () => {
  it('APPEND gives out its UID by appending one line; files delivered meanwhile get the next UIDs', async () => {
    const s = store();
    await deliverN(s.root, 3);
    await s.open('INBOX');
    const before = readFileSync(join(s.root, UIDLIST_FILE), 'utf8');
    await deliverN(s.root, 1, 10); // another process: a file without a UID yet
    const r = await s.append('INBOX', msg('appended'));
    expect(r.uid).toBe(4);
    const after = readFileSync(join(s.root, UIDLIST_FILE), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.slice(before.length)).toMatch(/^4 \S+\n$/);
    const snap = await store(s.root).open('INBOX');
    expect(snap.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    expect(snap.messages[4]?.base).toMatch(/^1700000010\.K10\./);
    expect((await s.readMessage('INBOX', 4)).toString()).toContain('appended');
  });

  it('COPY and MOVE into a known folder append to its list too', async () => {
    const s = store();
    await deliverN(s.root, 3);
    await s.createFolder('Archive');
    await s.open('INBOX');
    await s.open('Archive');
    expect((await s.copy('INBOX', [1, 2], 'Archive')).pairs).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect((await s.move('INBOX', [3], 'Archive')).pairs).toEqual([[3, 3]]);
    const dir = join(s.root, '.Archive');
    expect(lines(join(dir, UIDLIST_FILE))).toHaveLength(4);
    const fresh = await store(s.root).open('Archive');
    expect(fresh.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect((await s.readMessage('Archive', 3)).toString()).toContain('m2');
  });

  it('finds files another process renamed with one scan, for every message', async () => {
    const s = store();
    await deliverN(s.root, 20);
    const snap = await s.open('INBOX');
    for (const m of snap.messages) renameSync(m.path, join(s.root, 'cur', `${m.base}:2,S`));
    for (const m of snap.messages)
      expect((await s.readMessage('INBOX', m.uid)).toString()).toContain('Subject: m');
    expect(await s.setFlags('INBOX', [1, 2], 'add', ['\\Flagged'])).toEqual([
      { uid: 1, flags: ['\\Seen', '\\Flagged'], modseq: 4 },
      { uid: 2, flags: ['\\Seen', '\\Flagged'], modseq: 5 },
    ]);
    // Gone for good: not-found, and the others still readable.
    rmSync(join(s.root, 'cur', `${snap.messages[5]?.base}:2,S`));
    await expect(s.readMessage('INBOX', 6)).rejects.toMatchObject({ code: 'not-found' });
    expect(await s.expunge('INBOX', [6, 7])).toEqual([7]);
  });

  it('appends index entries per batch and reads what other processes appended', async () => {
    const root = tempRoot();
    let calls = 0;
    const indexer = (b: Buffer) => {
      calls++;
      return { subject: /Subject: (.*)\r\n/.exec(b.toString())?.[1] };
    };
    const a = store(root, { indexer });
    const b = store(root, { indexer });
    await deliverN(root, 4);
    await a.open('INBOX');
    await b.open('INBOX');
    const path = join(root, SUMMARY_FILE);
    for (const uid of [1, 2, 3]) await a.summaries('INBOX', [uid]);
    expect(lines(path)).toHaveLength(3);
    // Sizes and dates have their own small file, which SELECT reads; summaries are not in it.
    expect(lines(join(root, INDEX_FILE))).toHaveLength(4);
    // b picks a's entries up at its next sync instead of indexing again.
    await b.open('INBOX');
    expect((await b.summaries('INBOX', [1, 2, 3, 4])).get(2)).toEqual({ subject: 'm1' });
    expect(calls).toBe(4);
    // A torn line (a writer died mid-append) is skipped; the rest still counts.
    writeFileSync(path, `${readFileSync(path, 'utf8')}["half`);
    expect((await store(root, { indexer }).summaries('INBOX', [4])).get(4)).toEqual({ subject: 'm3' });
    expect(calls).toBe(4);
  });

  it('compacts the index once dead entries dominate', async () => {
    const root = tempRoot();
    const s = store(root);
    await s.open('INBOX');
    // Written directly (deliver() fsyncs each one): names as deliver() makes them.
    for (let i = 0; i < 1200; i++)
      writeFileSync(join(root, 'new', `${1700000000 + i}.K${i}.mx,S=10`), 'Subject: x');
    const snap = await s.open('INBOX');
    expect(lines(join(root, INDEX_FILE))).toHaveLength(1200);
    await s.expunge(
      'INBOX',
      snap.messages.slice(0, 1150).map((m) => m.uid),
    );
    await s.open('INBOX');
    expect(lines(join(root, INDEX_FILE)).length).toBeLessThan(1200);
  });

  it('delivers without listing the folder first, and a retry after a crash before the link delivers', async () => {
    const dir = join(tempRoot(), 'x');
    const opts = { dir, deliveryKey: 'R1', time: 1700000000, host: 'h', source: Buffer.from('x') };
    const first = await deliver(opts);
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['1700000000.R1.h']);
    // Crash after the claim, before the link: the claim alone must not swallow the retry.
    rmSync(first.path);
    const again = await deliver(opts);
    expect(again.created).toBe(true);
    expect(existsSync(again.path)).toBe(true);
    // The retry wrote through its own tmp file, gone now; the claim stays until released.
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['1700000000.R1.h']);
    expect((await deliver(opts)).created).toBe(false);
    releaseClaims([again.claim]);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });
});
