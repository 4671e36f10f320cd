// Protocol tests: scripted sessions against the real server in-process, over
// real sockets, with a real redis-server behind the directory.
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PopClient, unstuff } from './client.js';
import { moveToCur, startEnv, type TestEnv, writeRaw } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

async function loggedIn(user = 'alice', password = 'secret'): Promise<PopClient> {
  const c = await PopClient.connect(env.server.port);
  expect(await c.line()).toMatch(/^\+OK /);
  expect(await c.cmd(`USER ${user}@example.test`)).toMatch(/^\+OK/);
  expect(await c.cmd(`PASS ${password}`)).toMatch(/^\+OK Logged in/);
  return c;
}

async function quit(c: PopClient): Promise<void> {
  expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  await c.waitClosed();
}

describe('authorization', () => {
  it('greets and lists capabilities', async () => {
    const c = await PopClient.connect(env.server.port);
    expect(await c.line()).toBe('+OK pop3.example.test POP3 server ready');
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).toEqual(
      expect.arrayContaining([
        'TOP',
        'UIDL',
        'RESP-CODES',
        'AUTH-RESP-CODE',
        'PIPELINING',
        'USER',
        'SASL PLAIN',
        'STLS',
      ]),
    );
    expect(caps).toContain('IMPLEMENTATION Postamt');
    expect(caps.some((l) => l.startsWith('APOP'))).toBe(false);
    await quit(c);
  });

  it('logs in with USER/PASS, a password with spaces included', async () => {
    await quit(await loggedIn('bob', 'pass word'));
  });

  it('refuses a wrong password or unknown user with [AUTH], and closes after too many', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    expect(await c.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS wrong')).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.cmd('USER nobody@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS secret')).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.cmd('PASS secret')).toBe('-ERR Send USER first');
    expect(await c.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS nope')).toMatch(/^-ERR \[AUTH\] Too many failed logins/);
    await c.waitClosed();
  });

  it('supports AUTH PLAIN with an initial response, a continuation, and cancel', async () => {
    const b64 = Buffer.from('\u0000alice@example.test\u0000secret').toString('base64');
    const c = await PopClient.connect(env.server.port);
    await c.line();
    expect(await c.cmd('AUTH')).toMatch(/^\+OK/);
    expect(await c.lines()).toEqual(['PLAIN']);
    expect(await c.cmd('AUTH CRAM-MD5')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('*')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd(b64)).toMatch(/^\+OK Logged in/);
    await quit(c);
    const d = await PopClient.connect(env.server.port);
    await d.line();
    expect(await d.cmd(`AUTH PLAIN ${b64}`)).toMatch(/^\+OK Logged in/);
    await quit(d);
    const e = await PopClient.connect(env.server.port);
    await e.line();
    const other = Buffer.from('bob@example.test\u0000alice@example.test\u0000secret').toString('base64');
    expect(await e.cmd(`AUTH PLAIN ${other}`)).toBe('-ERR [AUTH] Authentication failed');
    await quit(e);
  });

  it('refuses commands in the wrong state, unknown commands and bad syntax, and keeps going', async () => {
    let c = await PopClient.connect(env.server.port);
    await c.line();
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'RSET', 'UIDL', 'TOP 1 1']) {
      expect(await c.cmd(cmd)).toBe('-ERR Command not valid in this state');
    }
    expect(await c.cmd('APOP alice@example.test 0123456789abcdef')).toBe('-ERR Unknown command');
    expect(await c.cmd('XYZZY')).toBe('-ERR Unknown command');
    expect(await c.cmd('')).toBe('-ERR Unknown command');
    expect(await c.cmd('CAPA extra')).toBe('-ERR Syntax error in arguments');
    expect(await c.cmd(`NOOP ${'x'.repeat(600)}`)).toBe('-ERR Line too long');
    await quit(c);
    c = await loggedIn();
    for (const cmd of ['USER alice', 'PASS secret', 'AUTH PLAIN', 'STLS']) {
      expect(await c.cmd(cmd)).toBe('-ERR Command not valid in this state');
    }
    expect(await c.cmd('RETR')).toBe('-ERR Syntax error in arguments');
    expect(await c.cmd('RETR x')).toBe('-ERR Syntax error in arguments');
    expect(await c.cmd('RETR 0')).toBe('-ERR Syntax error in arguments');
    expect(await c.cmd('RETR 999')).toBe('-ERR No such message');
    expect(await c.cmd('NOOP')).toBe('+OK');
    await quit(c);
  });

  it('closes the connection after too many bad commands', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    for (let i = 1; i < 20; i++) expect(await c.cmd('BOGUS')).toBe('-ERR Unknown command');
    expect(await c.cmd('BOGUS')).toBe('-ERR Unknown command');
    expect(await c.line()).toBe('-ERR Too many errors, closing connection');
    await c.waitClosed();
  });

  it('closes the connection on a line far beyond any limit', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    c.send(Buffer.from('x'.repeat(100_000)));
    expect(await c.line()).toBe('-ERR Line too long');
    await c.waitClosed();
  });

  it('answers pipelined commands in order (RFC 2449 PIPELINING)', async () => {
    const c = await PopClient.connect(env.server.port);
    await c.line();
    c.send(Buffer.from('USER alice@example.test\r\nPASS secret\r\nNOOP\r\nSTAT\r\nQUIT\r\n'));
    expect(await c.line()).toMatch(/^\+OK Send PASS/);
    expect(await c.line()).toMatch(/^\+OK Logged in/);
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toMatch(/^\+OK \d+ \d+$/);
    expect(await c.line()).toBe('+OK Bye');
    await c.waitClosed();
  });
});

describe('transaction', () => {
  it('lists, retrieves byte-exact with dot-stuffing, TOP, DELE/RSET, QUIT commits', async () => {
    const a = Buffer.from('Subject: one\n\n.starts with a dot\n..two\nbare LF\r\nCRLF\n.', 'latin1');
    const b = Buffer.from('Subject: two\r\n\r\nbody\r\n');
    await env.put('alice', a);
    await env.put('alice', b);
    const wireA = 'Subject: one\r\n\r\n.starts with a dot\r\n..two\r\nbare LF\r\nCRLF\r\n.\r\n';
    const c = await loggedIn();
    const [, count, total] = /^\+OK (\d+) (\d+)$/.exec(await c.cmd('STAT')) ?? [];
    expect(Number(count)).toBe(2);
    expect(Number(total)).toBe(wireA.length + b.length);
    expect(await c.cmd('LIST')).toMatch(/^\+OK 2 messages/);
    expect(await c.lines()).toEqual([`1 ${wireA.length}`, `2 ${b.length}`]);
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${b.length}`);

    expect(await c.cmd('RETR 1')).toBe(`+OK ${wireA.length} octets`);
    const body = await c.body();
    expect(body.toString('latin1')).toContain('\r\n..starts with a dot\r\n...two\r\n');
    expect(unstuff(body).toString('latin1')).toBe(wireA);

    expect(await c.cmd('TOP 1 1')).toMatch(/^\+OK/);
    expect((await c.body()).toString()).toBe('Subject: one\r\n\r\n..starts with a dot\r\n');

    expect(await c.cmd('UIDL')).toMatch(/^\+OK/);
    const uids = await c.lines();
    expect(uids).toHaveLength(2);
    for (const l of uids) expect(l).toMatch(/^\d [\x21-\x7e]{1,70}$/);

    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 1')).toBe('-ERR Message already deleted');
    expect(await c.cmd('RETR 1')).toBe('-ERR No such message');
    expect(await c.cmd('LIST 1')).toBe('-ERR No such message');
    expect(await c.cmd('STAT')).toBe(`+OK 1 ${b.length}`);
    expect(await c.cmd('RSET')).toMatch(/^\+OK/);
    expect(await c.cmd('STAT')).toBe(`+OK 2 ${wireA.length + b.length}`);
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
    await quit(c);

    // Message 2 is gone; message 1 was retrieved: moved to cur/ and marked seen.
    expect(env.files('alice', 'new')).toEqual([]);
    const cur = env.files('alice', 'cur');
    expect(cur).toHaveLength(1);
    expect(cur[0]).toMatch(/:2,S$/);
    expect(readFileSync(join(env.inbox('alice'), 'cur', cur[0] as string))).toEqual(a);

    const d = await loggedIn();
    expect(await d.cmd('UIDL')).toMatch(/^\+OK/);
    expect(await d.lines()).toEqual([`1 ${(uids[0] as string).split(' ')[1]}`]);
    expect(await d.cmd('DELE 1')).toMatch(/^\+OK/);
    await quit(d);
    expect(env.files('alice', 'cur')).toEqual([]);
  });

  it('a dropped connection commits nothing', async () => {
    const name = await env.put('alice', 'Subject: keep\n\nme\n');
    const c = await loggedIn();
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    await c.drop();
    expect(env.files('alice', 'new')).toEqual([name]);
    // The lock went with the session: the next login works.
    const d = await loggedIn();
    expect(await d.cmd('STAT')).toMatch(/^\+OK 1 /);
    expect(await d.cmd('DELE 1')).toMatch(/^\+OK/);
    await quit(d);
  });

  it('a second session on the same maildrop gets [IN-USE] and can retry later', async () => {
    const c = await loggedIn();
    const d = await PopClient.connect(env.server.port);
    await d.line();
    expect(await d.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await d.cmd('PASS secret')).toBe('-ERR [IN-USE] Mailbox is locked by another session');
    expect(await d.cmd('STAT')).toBe('-ERR Command not valid in this state');
    await quit(c);
    expect(await d.cmd('USER alice@example.test')).toMatch(/^\+OK/);
    expect(await d.cmd('PASS secret')).toMatch(/^\+OK Logged in/);
    await quit(d);
  });

  it('UIDL is stable while IMAP moves the file new → cur and changes flags', async () => {
    const name = await env.put('alice', 'Subject: moved\n\nbody\n');
    const c = await loggedIn();
    expect(await c.cmd('UIDL 1')).toMatch(/^\+OK 1 /);
    const uid = (await c.cmd('UIDL 1')).split(' ')[2];
    // Another process (IMAP) reads and flags the message during our session.
    const moved = moveToCur(env, 'alice', name, 'F');
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    expect(unstuff(await c.body()).toString()).toBe('Subject: moved\r\n\r\nbody\r\n');
    await quit(c);
    // Commit found it in cur/ and added S, keeping F (flags in ASCII order).
    expect(env.files('alice', 'cur')).toEqual([moved.replace(/:2,F$/, ':2,FS')]);
    const d = await loggedIn();
    expect(await d.cmd('UIDL 1')).toBe(`+OK 1 ${uid}`);
    expect(await d.cmd('DELE 1')).toMatch(/^\+OK/);
    await quit(d);
    expect(env.files('alice', 'cur')).toEqual([]);
  });

  it('hashes UIDs of base names that are too long for UIDL', async () => {
    writeRaw(env, 'alice', `1700000000.${'x'.repeat(80)}.host`, 'Subject: long\n\nx\n');
    const c = await loggedIn();
    expect(await c.cmd('UIDL 1')).toMatch(/^\+OK 1 ~[A-Za-z0-9_-]{40}$/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    await quit(c);
  });

  it('reports a message removed by another process instead of failing the session', async () => {
    const name = await env.put('alice', 'Subject: gone\n\nx\n');
    const c = await loggedIn();
    unlinkSync(join(env.inbox('alice'), 'new', name));
    expect(await c.cmd('RETR 1')).toBe('-ERR [SYS/TEMP] Message is no longer available');
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    await quit(c);
  });
});
