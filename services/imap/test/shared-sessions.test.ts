// Sessions of one user sharing folder state (issue 8), over real sockets with
// the real server, Maildir and Redis events: each session keeps its own
// sequence numbers — an expunge by one is told to another only where RFC 3501
// §7.4.1 allows — flag changes reach the others numbered in their own
// sequence, and a new message wakes N IDLE sessions with one folder read.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MaildirAdapter } from '../src/mail-store.js';
import { aliceSession, claimAll, endIdle, heard, idleIn, MSG } from './alice-sessions.js';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('sessions sharing a folder', () => {
  it('keep their own sequence numbers until each may be told of an expunge', async () => {
    for (let i = 1; i <= 5; i++) await env.put('alice', MSG(i), 'Shared');
    await claimAll(env, 'Shared');
    const a = await aliceSession(env);
    const b = await aliceSession(env);
    expect((await a.command('s', 'SELECT Shared')).untagged).toContain('* 5 EXISTS');
    expect((await b.command('s', 'SELECT Shared')).untagged).toContain('* 5 EXISTS');

    // b deletes message 2 and is told at once.
    await b.command('d', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    let expunged = heard(env, 'expunge');
    expect((await b.command('e', 'EXPUNGE')).untagged).toBe('* 2 EXPUNGE\r\n');
    await expunged;
    // b flags UID 4 — its number 3.
    const flagged = heard(env, 'flags');
    expect((await b.command('f', 'STORE 3 +FLAGS.SILENT (\\Flagged)')).tagged).toMatch(/^f OK/);
    await flagged;

    // a is in FETCH, STORE and SEARCH without UID: no EXPUNGE, numbers unchanged, UID 4 is its 4.
    const fetch = await a.command('g', 'FETCH 1:5 (UID)');
    expect(fetch.untagged).not.toMatch(/EXPUNGE/);
    expect(fetch.untagged).toContain('* 4 FETCH (UID 4)\r\n');
    expect(fetch.untagged).toContain('* 5 FETCH (UID 5)\r\n');
    expect(fetch.untagged).toContain('* 4 FETCH (FLAGS (\\Flagged))\r\n');
    expect((await a.command('h', 'SEARCH FLAGGED')).untagged).toBe('* SEARCH 4\r\n');
    const seen = heard(env, 'flags');
    const store = await a.command('i', 'STORE 5 +FLAGS (\\Seen)');
    expect(store.untagged).toBe('* 5 FETCH (FLAGS (\\Seen))\r\n');
    await seen;
    // NOOP may renumber: now a hears of the expunge.
    expect((await a.command('n', 'NOOP')).untagged).toBe('* 2 EXPUNGE\r\n');
    expect((await a.command('u', 'FETCH 3:4 (UID)')).untagged).toBe(
      '* 3 FETCH (UID 4)\r\n* 4 FETCH (UID 5)\r\n',
    );
    // b hears of a's \Seen on UID 5, which is b's number 4.
    expect((await b.command('n', 'NOOP')).untagged).toBe('* 4 FETCH (FLAGS (\\Seen))\r\n');

    // An expunge by a while b is in a UID command: UID commands may be told (RFC 3501 §7.4.1).
    await a.command('d', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    expunged = heard(env, 'expunge');
    expect((await a.command('e', 'EXPUNGE')).untagged).toBe('* 1 EXPUNGE\r\n');
    await expunged;
    const uidFetch = await b.command('v', 'UID FETCH 1:* (FLAGS)');
    expect(uidFetch.untagged).toMatch(/\* 1 EXPUNGE\r\n$/);
    expect((await b.command('w', 'FETCH 1:* (UID)')).untagged).toBe(
      '* 1 FETCH (UID 3)\r\n* 2 FETCH (UID 4)\r\n* 3 FETCH (UID 5)\r\n',
    );
    a.close();
    b.close();
  });

  it('wakes N IDLE sessions of a folder with one read of it per new message', async () => {
    const N = 20;
    await env.put('alice', MSG(0), 'Many');
    await claimAll(env, 'Many');
    const clients = await idleIn(env, 'Many', N);
    const reads = vi.spyOn(MaildirAdapter.prototype, 'open');
    try {
      await env.put('alice', MSG(1), 'Many');
      for (const c of clients) await c.expect(/^\* 2 EXISTS$/);
      expect(reads.mock.calls.filter(([name]) => name === 'Many')).toHaveLength(1);
    } finally {
      reads.mockRestore();
    }
    // RFC 3501 §2.3.2: the one read claimed the message for exactly one session.
    expect(await endIdle(clients)).toBe(1);
  });
});
