// Malformed input (issue 7, "Bad input"): every broken command gets exactly
// the reply the RFC calls for — tagged BAD for syntax (RFC 3501 §7.1.3),
// untagged BAD when the tag cannot be trusted (§7.1.5 "* BAD"), tagged NO for
// refused literals (RFC 7888 §4 / RFC 9051 §7.1 TOOBIG), untagged BYE when the
// connection cannot be kept — and the server keeps serving: a second client
// runs a steady stream of real commands the whole time, and every one of its
// replies must be right.
import { randomBytes } from 'node:crypto';
import { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
/** The bystander: NOOP/FETCH/SEARCH in a loop while the tests below run. */
let bystander: Promise<number>;
let stopBystander = false;

const MSG = 'From: a@example.net\r\nSubject: hello\r\n\r\nbody\r\n';

async function connect(): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK /);
  return c;
}

async function login(user = 'alice'): Promise<LineClient> {
  const c = await connect();
  await c.command(`l LOGIN ${user}@example.test secret`, /^l OK /);
  return c;
}

/** The next line the server sends, whatever it is. */
const next = (c: LineClient): Promise<string> => c.expect(/^/);

async function runBystander(): Promise<number> {
  const c = await login('carol');
  await c.command('s SELECT INBOX', /^s OK \[READ-WRITE\]/);
  let rounds = 0;
  while (!stopBystander) {
    const t = `b${rounds}`;
    c.send(`${t}1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])`);
    expect(await c.expect(new RegExp(`^${t}1 `))).toMatch(/ OK /);
    c.send(`${t}2 UID SEARCH SUBJECT hello`);
    expect(await c.expect(new RegExp(`^${t}2 `))).toMatch(/ OK /);
    c.send(`${t}3 NOOP`);
    expect(await c.expect(new RegExp(`^${t}3 `))).toMatch(/ OK /);
    rounds++;
  }
  await c.command('z LOGOUT', /^z OK/);
  c.close();
  return rounds;
}

beforeAll(async () => {
  env = await startEnv({ maxLine: 8192, maxLiteral: 4096, maxMessage: 64 * 1024 });
  for (let i = 0; i < 3; i++) await env.put('carol', MSG);
  await env.put('alice', MSG);
  bystander = runBystander();
});

afterAll(async () => {
  stopBystander = true;
  // Every bystander round got the right answers while the junk below flew.
  expect(await bystander).toBeGreaterThan(0);
  await env?.stop();
});

/** [command line, first reply line] pairs sent one at a time on one connection. */
async function table(c: LineClient, rows: ReadonlyArray<readonly [string, RegExp]>): Promise<void> {
  for (const [line, want] of rows) {
    c.send(line);
    const got = await next(c);
    expect(got, line).toMatch(want);
  }
}

describe('malformed commands', () => {
  it('unbalanced parentheses and brackets are tagged BAD', async () => {
    const c = await login();
    await c.command('s SELECT INBOX', /^s OK/);
    await table(c, [
      ['a1 FETCH 1 (FLAGS', /^a1 BAD /],
      ['a2 FETCH 1 FLAGS)', /^a2 BAD /],
      ['a3 FETCH 1 (FLAGS))', /^a3 BAD /],
      ['a4 FETCH 1 BODY[HEADER.FIELDS (SUBJECT]', /^a4 BAD /],
      ['a5 FETCH 1 BODY[1', /^a5 BAD /],
      ['a6 SEARCH (ALL', /^a6 BAD /],
      ['a7 SEARCH ALL)', /^a7 BAD /],
      ['a8 STORE 1 +FLAGS (\\Seen', /^a8 BAD /],
      ['a10 LIST "" ("*"', /^a10 BAD /],
      ['a11 STATUS INBOX (MESSAGES', /^a11 BAD /],
      ['a12 FETCH 1 ()', /^a12 BAD /],
    ]);
    // The literal is announced before the parser can see the list is open: "+", then BAD.
    await c.command('a9 APPEND INBOX (\\Seen {1}', /^\+ /);
    c.send('x');
    expect(await next(c)).toMatch(/^a9 BAD /);
    await c.command('ok NOOP', /^ok OK/);
    c.close();
  });

  it('bad literals: malformed, short, oversized synchronising and non-synchronising', async () => {
    const c = await login();
    await table(c, [
      ['b1 CREATE {1+2}', /^b1 BAD /],
      ['b2 CREATE {99999999999}', /^b2 BAD /],
      ['b3 CREATE {-1}', /^b3 BAD /],
      ['b4 CREATE {}', /^b4 BAD /],
      ['b5 CREATE {x}', /^b5 BAD /],
      // Synchronising and too big: refused before the client sends it (no "+").
      ['b6 CREATE {4294967295}', /^b6 NO \[TOOBIG\]/],
      ['b7 APPEND INBOX {65537}', /^b7 NO \[TOOBIG\]/],
      ['b8 LOGIN {5000}', /^b8 (NO \[TOOBIG\]|BAD )/],
    ]);
    // A literal shorter than the rest of the command: the bytes after it are not a valid command.
    c.send('b9 CREATE {3+}');
    c.write('ab');
    c.send(' extra)');
    expect(await next(c)).toMatch(/^b9 BAD /);
    // A literal where the grammar allows none (the command name).
    c.send('b10 {4+}');
    c.send('NOOP');
    expect(await next(c)).toMatch(/^b10 BAD /);
    // Literal announced, then the client disconnects: nothing but a closed socket.
    await c.command('ok NOOP', /^ok OK/);
    c.close();
    const d = await login();
    d.send('x APPEND INBOX {100+}');
    d.write('half a message');
    d.close();
    // A non-synchronising literal over the limit is on its way and cannot be skipped: BYE (RFC 7888 §4).
    const e = await login();
    e.send('y APPEND INBOX {99999999+}');
    expect(await next(e)).toMatch(/^\* BYE \[TOOBIG\]/);
    await e.waitClosed();
  });

  it('invalid sequence sets are tagged BAD', async () => {
    const c = await login();
    await c.command('s SELECT INBOX', /^s OK/);
    await table(c, [
      ['c1 FETCH 0 FLAGS', /^c1 BAD /],
      ['c2 FETCH 1:0 FLAGS', /^c2 BAD /],
      ['c3 FETCH a:b FLAGS', /^c3 BAD /],
      ['c4 FETCH 1,,2 FLAGS', /^c4 BAD /],
      ['c5 FETCH 1: FLAGS', /^c5 BAD /],
      ['c6 FETCH 1:*:2 FLAGS', /^c6 BAD /],
      ['c7 FETCH 4294967296 FLAGS', /^c7 BAD /],
      ['c8 FETCH -1 FLAGS', /^c8 BAD /],
      ['c9 FETCH 99 FLAGS', /^c9 BAD /], // beyond EXISTS (RFC 9051 §7.1.3)
      ['c10 STORE 2:3 +FLAGS (\\Seen)', /^c10 BAD /],
      ['c11 COPY 1,* Trash', /^c11 OK /], // `*` is fine
      ['c12 UID FETCH 0 FLAGS', /^c12 BAD /],
      ['c13 UID FETCH 99 FLAGS', /^c13 OK /], // UID sets may name absent UIDs (§6.4.8)
      [`c14 FETCH ${Array.from({ length: 10_002 }, (_, i) => i + 1).join(',')} FLAGS`, /^\* BAD \[TOOBIG\]/],
      ['c15 FETCH 1 FLAGS', /^\* 1 FETCH/],
    ]);
    await c.expect(/^c15 OK/);
    c.close();
  });

  it('commands in the wrong state are tagged BAD', async () => {
    const c = await connect();
    await table(c, [
      ['d1 SELECT INBOX', /^d1 BAD /],
      ['d2 FETCH 1 FLAGS', /^d2 BAD /],
      ['d3 LIST "" *', /^d3 BAD /],
      ['d4 IDLE', /^d4 BAD /],
      ['d5 APPEND INBOX {1+}\r\nx', /^d5 BAD /],
      // Before login every literal is small, APPEND's too (no message-sized buffers for strangers).
      ['d5a APPEND INBOX {60000}', /^d5a NO \[TOOBIG\]/],
      ['d6 UID FETCH 1 FLAGS', /^d6 BAD /],
      ['d7 CLOSE', /^d7 BAD /],
      ['d8 LOGIN alice@example.test secret', /^d8 OK /],
      ['d9 LOGIN alice@example.test secret', /^d9 BAD /],
      ['d10 AUTHENTICATE PLAIN', /^d10 BAD /],
      ['d11 STARTTLS', /^d11 BAD /],
      ['d12 FETCH 1 FLAGS', /^d12 BAD /],
      ['d13 EXPUNGE', /^d13 BAD /],
      ['d14 CLOSE', /^d14 BAD /],
      ['d15 UID EXPUNGE 1', /^d15 BAD /],
      ['d16 EXAMINE INBOX', /^\* /],
    ]);
    await c.expect(/^d16 OK \[READ-ONLY\]/);
    await table(c, [
      ['d17 STORE 1 +FLAGS (\\Seen)', /^d17 NO \[READ-ONLY\]/],
      ['d18 EXPUNGE', /^d18 NO \[READ-ONLY\]/],
    ]);
    c.close();
  });

  it('bad tags, unknown commands and empty lines', async () => {
    const c = await login();
    await table(c, [
      ['+ NOOP', /^\* BAD /],
      ['* NOOP', /^\* BAD /],
      ['a{ NOOP', /^\* BAD /],
      ['e1', /^e1 BAD /],
      ['e2 ', /^e2 BAD /],
      ['e3 FROBNICATE', /^e3 BAD /],
      ['e4 UID LOGIN x y', /^e4 BAD /],
      ['e5 NOOP extra', /^e5 BAD /],
      ['e6  NOOP', /^e6 BAD /],
      ['e7 LOGIN "a\u0000b" c', /^e7 BAD /],
      ['e8 SELECT "bad\\q"', /^e8 BAD /],
      ['e9 SEARCH CHARSET KLINGON TEXT x', /^e9 BAD /], // not selected yet
    ]);
    c.send('');
    c.send('');
    await c.command('ok NOOP', /^ok OK/);
    c.close();
  });

  it('overlong lines are refused untagged and the connection is kept', async () => {
    const c = await login();
    c.write(`f1 NOOP ${'x'.repeat(100_000)}\r\n`);
    expect(await next(c)).toMatch(/^\* BAD \[TOOBIG\]/);
    // Overlong continuation line after a literal.
    c.send('f2 CREATE {1+}');
    c.write(`x${'y'.repeat(20_000)}\r\n`);
    expect(await next(c)).toMatch(/^f2 BAD \[TOOBIG\]/);
    // A megabyte without any line end.
    c.write(Buffer.alloc(1 << 20, 0x41));
    c.write('\r\n');
    expect(await next(c)).toMatch(/^\* BAD \[TOOBIG\]/);
    await c.command('ok NOOP', /^ok OK/);
    c.close();
  });

  it('deep nesting is refused with BAD', async () => {
    const c = await login();
    await c.command('s SELECT INBOX', /^s OK/);
    const deep = (n: number, inner: string) => `${'('.repeat(n)}${inner}${')'.repeat(n)}`;
    await table(c, [
      [`g1 SEARCH ${deep(100, 'ALL')}`, /^g1 BAD /],
      [`g2 SEARCH ${'NOT '.repeat(500)}ALL`, /^g2 BAD /],
      [`g3 SEARCH ${'OR ALL '.repeat(500)}ALL`, /^g3 BAD /],
      [`g4 FETCH 1 ${deep(100, 'FLAGS')}`, /^g4 BAD /],
      [`g5 STORE 1 FLAGS ${deep(100, '\\Seen')}`, /^g5 BAD /],
      [`g6 SEARCH ${deep(2000, 'ALL')}`, /^g6 BAD /],
      [`g7 SEARCH ${deep(3, 'ALL')}`, /^\* SEARCH 1/],
    ]);
    await c.expect(/^g7 OK/);
    c.close();
  });

  it('binary junk gets BAD (tag or untagged), then BYE after too many errors; other clients unaffected', async () => {
    const c = await login();
    c.write(Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x0d, 0x0a]));
    expect(await next(c)).toMatch(/^\* BAD /);
    c.write(Buffer.from('h1 NOOP \x00\xff\r\n', 'latin1'));
    expect(await next(c)).toMatch(/^h1 BAD /);
    await c.command('ok NOOP', /^ok OK/);
    // Random bytes until the server gives up on this client; it must say BYE and close.
    for (let i = 0; i < 80 && !c.closed; i++) {
      const junk = randomBytes(200).map((b) => (b === 0x0a || b === 0x0d ? 0x20 : b));
      c.write(Buffer.concat([junk, Buffer.from('\r\n')]));
    }
    await c.expect(/^\* BYE /);
    await c.waitClosed();
    // The server still takes new clients.
    const d = await login();
    await d.command('n NOOP', /^n OK/);
    d.close();
  });

  it('a client that vanishes mid-command or mid-IDLE does not disturb the server', async () => {
    for (const partial of [
      'i1 FETCH 1 (FLA',
      'i2 IDLE\r\n',
      'i3 APPEND INBOX {10}\r\n',
      'i4 LOGIN {5}\r\n',
    ]) {
      const c = await login();
      await c.command('s SELECT INBOX', /^s OK/);
      c.write(partial);
      c.close();
    }
    const d = await login();
    await d.command('s SELECT INBOX', /^s OK/);
    await d.command('f FETCH 1 FLAGS', /^f OK/);
    d.close();
  });
});
