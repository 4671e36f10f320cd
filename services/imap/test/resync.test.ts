// A client's resync after another session's changes (issue 8, bench
// imap-scale "resync after 100 changes"): SELECT + UID FETCH 1:* (FLAGS) +
// UID SEARCH ALL, and the QRESYNC SELECT. Right after the changes the store
// may skip listing the folder (maildir sync.ts trustedStamp); what another
// program does to the files at that moment must still reach the client.
import { readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliceSession, claimAll, heard, MSG } from './alice-sessions.js';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const uidsOf = (text: string) => [...text.matchAll(/UID (\d+)/g)].map((m) => Number(m[1]));

describe('resync after changes by another session', () => {
  it('sees the changes and a hand-made rename and deletion made at once after them', async () => {
    for (let i = 1; i <= 8; i++) await env.put('alice', MSG(i), 'Resync');
    await claimAll(env, 'Resync');
    const cur = join(env.dataDir, 'mail', 'example.test', 'alice', '.Resync', 'cur');
    const fileOf = (uid: number, names: string[], order: number[]) => names[order.indexOf(uid)] as string;

    // The client notes the state.
    const a = await aliceSession(env);
    await a.command('e', 'ENABLE QRESYNC');
    const sel = (await a.command('s', 'SELECT Resync')).untagged;
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel)?.[1]);
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel)?.[1]);
    a.close();

    // Another session flags 2 and expunges 3 and 5.
    const b = await aliceSession(env);
    await b.command('s', 'SELECT Resync');
    await b.command('f', 'UID STORE 2 +FLAGS.SILENT (\\Flagged)');
    await b.command('d', 'UID STORE 3,5 +FLAGS.SILENT (\\Deleted)');
    const expunged = heard(env, 'expunge');
    await b.command('x', 'UID EXPUNGE 3,5');
    await expunged;
    b.close();

    // A session resyncs at once: its listing of the folder is the one trusted from now on.
    const c = await aliceSession(env);
    expect((await c.command('s', 'SELECT Resync')).untagged).toContain('* 6 EXISTS');
    const flags = (await c.command('f', 'UID FETCH 1:* (FLAGS)')).untagged;
    expect(uidsOf(flags)).toEqual([1, 2, 4, 6, 7, 8]);
    expect(flags).toContain('* 2 FETCH (UID 2 FLAGS (\\Flagged))');
    expect((await c.command('a', 'UID SEARCH ALL')).untagged).toBe('* SEARCH 1 2 4 6 7 8\r\n');
    expect((await c.command('n', 'SEARCH FLAGGED')).untagged).toBe('* SEARCH 2\r\n');
    c.close();

    // Another program, right then: marks UID 4 seen and deletes UID 7 (files sort by UID here).
    const names = readdirSync(cur).sort();
    const order = [1, 2, 4, 6, 7, 8];
    const four = fileOf(4, names, order);
    renameSync(join(cur, four), join(cur, `${four.slice(0, four.indexOf(':'))}:2,S`));
    unlinkSync(join(cur, fileOf(7, names, order)));

    // The QRESYNC SELECT tells of the expunges since the noted state and of both foreign changes.
    const d = await aliceSession(env);
    await d.command('e', 'ENABLE QRESYNC');
    const q = (await d.command('q', `SELECT Resync (QRESYNC (${uidValidity} ${modseq}))`)).untagged;
    expect(q).toContain('* 5 EXISTS');
    expect(q).toMatch(/\* VANISHED \(EARLIER\) 3,5,7\r\n/);
    expect(q).toMatch(/FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)/);
    expect(q).toMatch(/FETCH \(UID 4 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)/);
    expect((await d.command('a', 'UID SEARCH ALL')).untagged).toBe('* SEARCH 1 2 4 6 8\r\n');
    expect((await d.command('s', 'SEARCH SEEN')).untagged).toBe('* SEARCH 3\r\n');
    d.close();
  });

  it('shares the whole-folder FLAGS answer only between sessions that see the same state', async () => {
    for (let i = 1; i <= 4; i++) await env.put('alice', MSG(i), 'Flags');
    // a claims \Recent: its answer is its own.
    const a = await aliceSession(env);
    await a.command('s', 'SELECT Flags');
    expect((await a.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toBe(
      [1, 2, 3, 4].map((n) => `* ${n} FETCH (UID ${n} FLAGS (\\Recent))\r\n`).join(''),
    );
    // b and c see the folder as it is: the same bytes.
    const b = await aliceSession(env);
    const c = await aliceSession(env);
    await b.command('s', 'SELECT Flags');
    await c.command('s', 'SELECT Flags');
    const plain = [1, 2, 3, 4].map((n) => `* ${n} FETCH (UID ${n} FLAGS ())\r\n`).join('');
    expect((await b.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toBe(plain);
    expect((await c.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toBe(plain);
    expect((await c.command('g', 'FETCH 1:* (FLAGS)')).untagged).toBe(
      [1, 2, 3, 4].map((n) => `* ${n} FETCH (FLAGS ())\r\n`).join(''),
    );

    // b's own change: b is told at once, c after its NOOP — neither from the old answer.
    const flagged = heard(env, 'flags');
    await b.command('t', 'UID STORE 2 +FLAGS.SILENT (\\Seen)');
    await flagged;
    expect((await b.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toContain(
      '* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n',
    );
    await c.command('n', 'NOOP');
    expect((await c.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toBe(
      plain.replace('(UID 2 FLAGS ())', '(UID 2 FLAGS (\\Seen))'),
    );

    // b expunges UID 3; c, in FETCH without UID, keeps its numbers (RFC 3501 §7.4.1) until NOOP.
    await b.command('d', 'UID STORE 3 +FLAGS.SILENT (\\Deleted)');
    const expunged = heard(env, 'expunge');
    await b.command('x', 'UID EXPUNGE 3');
    await expunged;
    const held = (await c.command('g', 'FETCH 1:* (FLAGS)')).untagged;
    expect(held).not.toContain('EXPUNGE');
    expect(held).toContain('* 4 FETCH (FLAGS ())\r\n');
    expect((await c.command('n', 'NOOP')).untagged).toBe('* 3 EXPUNGE\r\n');
    expect((await c.command('f', 'UID FETCH 1:* (FLAGS)')).untagged).toBe(
      '* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n* 3 FETCH (UID 4 FLAGS ())\r\n',
    );
    for (const x of [a, b, c]) x.close();
  });

  it('answers header SEARCH from the shared summaries as the folder changes', async () => {
    for (let i = 1; i <= 6; i++) await env.put('alice', MSG(i), 'Heads');
    await claimAll(env, 'Heads');
    const a = await aliceSession(env);
    const b = await aliceSession(env);
    await a.command('s', 'SELECT Heads');
    await b.command('s', 'SELECT Heads');
    // The same state for both: the second answer comes from the map the first made.
    expect((await a.command('q', 'UID SEARCH SUBJECT m2')).untagged).toBe('* SEARCH 2\r\n');
    expect((await b.command('q', 'UID SEARCH SUBJECT m2')).untagged).toBe('* SEARCH 2\r\n');
    expect((await b.command('q', 'SEARCH OR SUBJECT m5 SUBJECT m6')).untagged).toBe('* SEARCH 5 6\r\n');

    // A new message and an expunge: a new state, its own map.
    await a.command('d', 'UID STORE 2 +FLAGS.SILENT (\\Deleted)');
    const expunged = heard(env, 'expunge');
    await a.command('x', 'UID EXPUNGE 2');
    await expunged;
    const arrived = heard(env, 'new');
    await env.put('alice', 'From: a@example.net\r\nSubject: m2 again\r\n\r\nbody\r\n', 'Heads');
    await arrived;
    // b claims \Recent for the new message (its view is its own), a sees the state as it is.
    expect((await b.command('n', 'NOOP')).untagged).toMatch(/^\* 2 EXPUNGE\r\n\* 6 EXISTS\r\n/);
    expect((await a.command('n', 'NOOP')).untagged).toBe('* 6 EXISTS\r\n');
    expect((await b.command('q', 'UID SEARCH SUBJECT m2')).untagged).toBe('* SEARCH 7\r\n');
    expect((await b.command('q', 'SEARCH SUBJECT m6')).untagged).toBe('* SEARCH 5\r\n');
    expect((await a.command('q', 'UID SEARCH SUBJECT m2')).untagged).toBe('* SEARCH 7\r\n');
    a.close();
    b.close();
  });
});
