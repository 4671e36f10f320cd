// Reads of a folder shared beyond one burst of events, over real sockets with
// the real server, Maildir and Redis events: IDLE sessions are polled per
// folder, not per session — a change no event announced (a file written into
// the Maildir behind the server's back) reaches every IDLE session of the
// folder from one read; and a command after an event reuses a read another
// session started after that event, while still seeing every change made
// before it was issued.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MaildirAdapter } from '../src/mail-store.js';
import type { MailboxSnapshot } from '../src/store.js';
import { aliceSession, claimAll, endIdle, heard, idleIn, MSG } from './alice-sessions.js';
import { startEnv, type TestEnv } from './env.js';
import type { ImapClient } from './imap-client.js';

let env: TestEnv;
beforeAll(async () => {
  // A short poll so the test need not wait 30 s for it; the poll is the only way news of a change
  // that published no event can come.
  env = await startEnv({ idlePollMs: 200 });
});
afterAll(async () => {
  await env?.stop();
});

/** A message put straight into the folder's new/ (tmp/ first, as Maildir wants), with no event published. */
function writeBehind(folder: string, n: number): void {
  const dir = join(env.dataDir, 'mail', 'example.test', 'alice', `.${folder}`);
  const name = `${1_700_100_000 + n}.M${n}P1.behind`;
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'tmp', name), MSG(n));
  renameSync(join(dir, 'tmp', name), join(dir, 'new', name));
}

describe('IDLE sessions of a folder', () => {
  it('hear a change no event announced after one poll, all from one read of the folder', async () => {
    const N = 10;
    await env.put('alice', MSG(0), 'Polled');
    await claimAll(env, 'Polled');
    const clients: LineClient[] = await idleIn(env, 'Polled', N);
    // Once a read has found the new message, later reads of the folder are held back until every
    // session has heard: so all of them heard it from that one read.
    const open = MaildirAdapter.prototype.open;
    let found = 0;
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const reads = vi.spyOn(MaildirAdapter.prototype, 'open').mockImplementation(async function (
      this: MaildirAdapter,
      name,
      claim,
    ): Promise<MailboxSnapshot> {
      if (name === 'Polled' && found > 0) await gate;
      const snap = await open.call(this, name, claim);
      if (name === 'Polled' && snap.messages.length === 2) found++;
      return snap;
    });
    try {
      writeBehind('Polled', 1);
      for (const c of clients) await c.expect(/^\* 2 EXISTS$/);
      expect(found).toBe(1);
    } finally {
      release();
      reads.mockRestore();
    }
    // RFC 3501 §2.3.2: the poll's read claimed the message for exactly one of them.
    expect(await endIdle(clients)).toBe(1);
  });
});

describe('selected sessions not in IDLE', () => {
  async function session(): Promise<ImapClient> {
    const c = await aliceSession(env);
    expect((await c.command('s', 'SELECT Reused')).tagged).toMatch(/^s OK/);
    return c;
  }

  it('reuse a read that started after the event they heard, and still see every earlier change', async () => {
    await env.put('alice', MSG(0), 'Reused');
    await claimAll(env, 'Reused');
    const a = await session();
    const b = await session();
    const c = await session();
    const d = await session();
    const reads = vi.spyOn(MaildirAdapter.prototype, 'open');
    const count = () => reads.mock.calls.filter(([name]) => name === 'Reused').length;
    try {
      // A new message: every session hears the event; a's next command reads, the others reuse it.
      let news = heard(env, 'new');
      await env.put('alice', MSG(1), 'Reused');
      await news;
      for (const s of [a, b, c, d])
        expect((await s.command('f', 'FETCH 1 (UID)')).untagged).toMatch(/\* 2 EXISTS\r\n/);
      expect(count()).toBe(1);

      // d flags the new message. b heard of it before its next command: it must not take the read
      // a made before the change; c, after b, takes b's.
      news = heard(env, 'flags');
      expect((await d.command('t', 'STORE 2 +FLAGS.SILENT (\\Flagged)')).tagged).toMatch(/^t OK/);
      await news;
      const before = count();
      expect((await b.command('g', 'FETCH 1 (UID)')).untagged).toContain('* 2 FETCH (FLAGS (\\Flagged))\r\n');
      const afterB = count();
      expect(afterB).toBeLessThanOrEqual(before + 1);
      expect((await c.command('g', 'FETCH 1 (UID)')).untagged).toContain('* 2 FETCH (FLAGS (\\Flagged))\r\n');
      expect(count()).toBe(afterB);

      // a heard of d's change too, and b's read (after it) is there to take — but a stores first: its
      // own change must not be undone by a state read before it. It hears of d's flag, and no
      // flip-back of its own (a's read claimed message 2: \Recent is a's).
      expect((await a.command('u', 'STORE 1 +FLAGS (\\Seen)')).untagged).toBe(
        '* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n',
      );
      expect((await a.command('n', 'NOOP')).untagged).toBe('');
    } finally {
      reads.mockRestore();
    }
    for (const s of [a, b, c, d]) s.close();
  });
});
