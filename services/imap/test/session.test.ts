// Protocol tests: scripted sessions against the real server in-process over
// real sockets, with a real redis-server behind the directory.
import { LineClient } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const MSG =
  'From: Ann <ann@example.net>\r\nTo: alice@example.test\r\nSubject: hello\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody text\r\n';

async function login(user = 'alice', password = 'secret'): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
  await c.command(`a LOGIN ${user}@example.test "${password}"`, /^a OK /);
  return c;
}

describe('not authenticated', () => {
  it('greets, lists capabilities, logs out', async () => {
    const c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK \[CAPABILITY /);
    expect(await c.command('1 CAPABILITY', /^\* CAPABILITY/)).toMatch(/STARTTLS/);
    await c.expect(/^1 OK/);
    await c.command('2 LOGOUT', /^\* BYE/);
    await c.expect(/^2 OK/);
    await c.waitClosed();
  });
  it('refuses wrong passwords and commands in the wrong state', async () => {
    const c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    await c.command('a SELECT INBOX', /^a BAD/);
    await c.command('b LOGIN alice@example.test wrong', /^b NO \[AUTHENTICATIONFAILED\]/);
    c.close();
  });
  it('authenticates with PLAIN (SASL-IR and continuation) and LOGIN', async () => {
    const plain = Buffer.from('\0alice@example.test\0secret').toString('base64');
    let c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    await c.command(`a AUTHENTICATE PLAIN ${plain}`, /^a OK/);
    c.close();
    c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    await c.command('a AUTHENTICATE PLAIN', /^\+ ?$/);
    await c.command(plain, /^a OK/);
    await c.command('b AUTHENTICATE LOGIN', /^b BAD/); // already authenticated: wrong state
    c.close();
    c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    await c.command('a AUTHENTICATE LOGIN', /^\+ /);
    await c.command(Buffer.from('bob@example.test').toString('base64'), /^\+ /);
    await c.command(Buffer.from('pass word').toString('base64'), /^a OK/);
    c.close();
  });
  it('STARTTLS discards pipelined input and then allows login', async () => {
    const c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    c.write('s STARTTLS\r\nx LOGIN alice@example.test secret\r\n');
    await c.expect(/^s OK/);
    await c.startTls();
    expect(await c.command('c CAPABILITY', /^\* CAPABILITY/)).not.toMatch(/STARTTLS/);
    await c.expect(/^c OK/);
    expect(c.lines.join('\n')).not.toMatch(/^x /m);
    await c.command('l LOGIN alice@example.test secret', /^l OK/);
    c.close();
  });
  it('serves implicit TLS', async () => {
    const c = await LineClient.connectTls(env.server.tlsPort as number);
    await c.expect(/^\* OK/);
    await c.command('a LOGIN alice@example.test secret', /^a OK/);
    c.close();
  });
});

describe('mailboxes and messages', () => {
  it('lists, creates, renames and deletes folders', async () => {
    const c = await login();
    await c.command('a CREATE Archiv.2024', /^a OK/);
    await c.command('b CREATE "Entw&APw-rfe"', /^b OK/);
    await c.command('c CREATE "bad..name"', /^c NO \[CANNOT\]/);
    await c.command('d CREATE INBOX', /^d NO/);
    c.send('e LIST "" "*"');
    await c.expect(/^\* LIST \(\\HasNoChildren\) "\." INBOX$/);
    const all: string[] = [];
    for (;;) {
      const l = await c.expect(/^(\* LIST|e OK)/);
      if (l.startsWith('e OK')) break;
      all.push(l);
    }
    expect(all.join('\n')).toContain('"." Entw&APw-rfe');
    expect(all.join('\n')).toMatch(/\(\\HasChildren\) "\." Archiv/);
    await c.command('f LIST "" ""', /^\* LIST \(\\Noselect\) "\." ""/);
    await c.command('g RENAME Archiv Old', /^g OK/);
    await c.command('h LIST "" "Old.%"', /^\* LIST \(\\HasNoChildren\) "\." Old\.2024/);
    await c.command('i DELETE Old.2024', /^i OK/);
    await c.command('j DELETE INBOX', /^j NO/);
    await c.command('k SUBSCRIBE Old', /^k OK/);
    await c.command('l LSUB "" "*"', /^\* LSUB \(.*\) "\." Old/);
    // Special-use folders exist from the start (the Maildir store creates them).
    await c.command('m CREATE Sent', /^m NO \[ALREADYEXISTS\]/);
    await c.command(
      'n LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UIDNEXT))',
      /^\* LIST \(\\HasNoChildren \\Sent\) "\." Sent/,
    );
    await c.expect(/^\* STATUS Sent \(MESSAGES 0 UIDNEXT 1\)/);
    c.close();
  });

  it('takes and shows UTF-8 mailbox names after ENABLE UTF8=ACCEPT (RFC 6855)', async () => {
    const c = await login();
    await c.command('a ENABLE UTF8=ACCEPT', /^\* ENABLED UTF8=ACCEPT$/);
    await c.expect(/^a OK/);
    c.write(Buffer.from('b CREATE "Brief\u00fcberblick"\r\n', 'utf8'));
    await c.expect(/^b OK/);
    c.write(Buffer.from('c LIST "" "Brief*"\r\n', 'utf8'));
    // RFC 6855 §3: a UTF-8 quoted string, not a literal.
    const line = await c.expect(/^\* LIST \(\\HasNoChildren\) "\." "Brief/);
    expect(Buffer.from(line, 'latin1').toString('utf8')).toBe(
      '* LIST (\\HasNoChildren) "." "Brief\u00fcberblick"',
    );
    await c.expect(/^c OK/);
    await c.command('d ENABLE UTF8=ACCEPT', /^\* ENABLED$/);
    const plain = await login();
    await plain.command('e LIST "" "Brief*"', /^\* LIST \(\\HasNoChildren\) "\." Brief&APw-berblick$/);
    c.close();
    plain.close();
  });

  it('selects, fetches, stores, searches, copies, moves and expunges', async () => {
    await env.put('alice', MSG);
    await env.put('alice', MSG.replace('hello', 'second'));
    const c = await login();
    c.send('a SELECT inbox');
    await c.expect(/^\* 2 EXISTS/);
    await c.expect(/^\* OK \[UIDVALIDITY \d+\]/);
    await c.expect(/^a OK \[READ-WRITE\]/);
    await c.command(
      'b FETCH 1 (FLAGS RFC822.SIZE ENVELOPE)',
      /^\* 1 FETCH \(RFC822\.SIZE \d+ ENVELOPE \(.*"hello".*\) FLAGS \(\\Recent\)\)/,
    );
    await c.expect(/^b OK/);
    await c.command(
      'c UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])',
      /^\* 1 FETCH \(UID 1 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}$/,
    );
    await c.expect(/^Subject: hello$/);
    await c.expect(/^c OK/);
    await c.command('d FETCH 2 BODY[TEXT]', /^\* 2 FETCH \(BODY\[TEXT\] \{11\}$/);
    await c.expect(/FLAGS \(\\Seen \\Recent\)\)$/);
    await c.expect(/^d OK/);
    await c.command(
      'e STORE 1 +FLAGS (\\Flagged $Work)',
      /^\* 1 FETCH \(FLAGS \(\\Flagged \$Work \\Recent\)\)/,
    );
    await c.expect(/^e OK/);
    await c.command('f SEARCH FLAGGED', /^\* SEARCH 1$/);
    await c.command('g UID SEARCH OR SUBJECT second KEYWORD $Work', /^\* SEARCH 1 2$/);
    await c.command('h SEARCH RETURN (COUNT MIN) NOT SEEN', /^\* ESEARCH \(TAG "h"\) MIN 1 COUNT 1$/);
    await c.command('i SEARCH CHARSET X-UNKNOWN ALL', /^i NO \[BADCHARSET/);
    await c.command('j COPY 1:2 Nowhere', /^j NO \[TRYCREATE\]/);
    await c.command('k CREATE Kept', /^k OK/);
    await c.command('l COPY 1:2 Kept', /^l OK \[COPYUID \d+ 1,2 1,2\]/);
    await c.command('m UID MOVE 2 Kept', /^\* OK \[COPYUID \d+ 2 3\]/);
    await c.expect(/^\* 2 EXPUNGE$/);
    await c.expect(/^m OK/);
    await c.command('n STORE 1 +FLAGS.SILENT (\\Deleted)', /^n OK/);
    await c.command('o EXPUNGE', /^\* 1 EXPUNGE$/);
    await c.expect(/^o OK/);
    await c.command('p STATUS Kept (MESSAGES UNSEEN)', /^\* STATUS Kept \(MESSAGES 3 UNSEEN 1\)/);
    await c.command('q FETCH 5 FLAGS', /^q BAD/);
    c.close();
  });

  it('appends with synchronising and non-synchronising literals (APPENDUID)', async () => {
    const c = await login('bob', 'pass word');
    const m = Buffer.from(MSG);
    c.send(`a APPEND INBOX (\\Seen) " 5-Mar-2024 10:00:00 +0100" {${m.length}}`);
    await c.expect(/^\+ /);
    c.write(Buffer.concat([m, Buffer.from('\r\n')]));
    await c.expect(/^a OK \[APPENDUID \d+ 1\]/);
    c.write(Buffer.concat([Buffer.from(`b APPEND INBOX {${m.length}+}\r\n`), m, Buffer.from('\r\n')]));
    await c.expect(/^b OK \[APPENDUID \d+ 2\]/);
    await c.command('c SELECT INBOX', /^c OK/);
    await c.command(
      'd FETCH 1 (INTERNALDATE FLAGS)',
      /^\* 1 FETCH \(INTERNALDATE "05-Mar-2024 09:00:00 \+0000" FLAGS \(\\Seen\)\)/,
    );
    c.send('e APPEND INBOX {99999999}');
    await c.expect(/^e NO \[TOOBIG\]/);
    await c.command('f NOOP', /^f OK/);
    c.close();
  });

  it('IDLE hears mail delivered by another process; other sessions see EXPUNGE only when allowed', async () => {
    const a = await login();
    await a.command('a SELECT Kept', /^a OK/);
    const b = await login();
    await b.command('a SELECT Kept', /^a OK/);
    a.send('i IDLE');
    await a.expect(/^\+ idling/);
    await env.put('alice', MSG, 'Kept');
    await a.expect(/^\* 4 EXISTS/);
    a.send('DONE');
    await a.expect(/^i OK/);
    await b.command('s STORE 1 +FLAGS.SILENT (\\Deleted)', /^s OK/);
    await b.command('x EXPUNGE', /^\* 1 EXPUNGE/);
    // A FETCH without UID must not renumber (RFC 3501 §7.4.1) ...
    a.send('f FETCH 1 FLAGS');
    const reply = await a.expect(/^f (OK|NO)/);
    expect(a.lines.join('\n')).not.toMatch(/EXPUNGE/);
    expect(reply).toBeTruthy();
    // ... NOOP may.
    await a.command('n NOOP', /^\* 1 EXPUNGE/);
    a.close();
    b.close();
  });
});

describe('bad input', () => {
  it('answers malformed commands with BAD and stays up', async () => {
    const c = await login();
    for (const [cmd, re] of [
      ['a FETCH 1 (FLAGS', /^a BAD/],
      ['b SELECT', /^b BAD/],
      ['c UID FROB 1', /^c BAD/],
      ['d LIST "" "unterminated', /^d BAD/],
      ['e SEARCH ((((((((((((((((((((ALL))))))))))))))))))))', /^e BAD/],
      ['f CREATE {1+2}', /^f BAD/],
      ['\u0001\u0002\u00ff junk', /^\* BAD|BAD/],
      ['g SELECT &Jjo', /^g NO \[CANNOT\]/],
    ] as const) {
      await c.command(cmd, re);
    }
    c.write(`h NOOP ${'x'.repeat(10_000)}\r\n`);
    await c.expect(/^\* BAD \[TOOBIG\]/);
    await c.command('i NOOP', /^i OK/);
    c.close();
  });
  it('closes on an oversized non-synchronising literal', async () => {
    const c = await login();
    c.send('a CREATE {999999+}');
    await c.expect(/^\* BYE \[TOOBIG\]/);
    await c.waitClosed();
  });
});

describe('flag resync', () => {
  it('answers FLAGS-only fetches (the fast path) exactly like the general one', async () => {
    const c = await login('bob', 'pass word');
    await env.put('bob', MSG);
    await env.put('bob', MSG);
    await c.command('s SELECT INBOX', /^s OK/);
    await c.command('t STORE 1:* +FLAGS.SILENT (\\Flagged $Work)', /^t OK/);
    const collect = async (tag: string, cmd: string) => {
      c.send(`${tag} ${cmd}`);
      const out: string[] = [];
      for (;;) {
        const line = await c.expect(new RegExp(`^(\\* \\d+ FETCH|${tag} )`));
        if (line.startsWith(`${tag} `)) return { out, tagged: line };
        // Unsolicited FLAGS updates (RFC 3501 §7.4.2) from the STORE's own event carry no UID.
        if (line.includes('FETCH (UID')) out.push(line);
      }
    };
    const fast = await collect('f', 'UID FETCH 1:* (FLAGS)');
    const general = await collect('g', 'UID FETCH 1:* (FLAGS INTERNALDATE)');
    expect(fast.tagged).toMatch(/^f OK/);
    expect(fast.out.length).toBeGreaterThan(1);
    expect(fast.out.at(-1)).toMatch(/^\* \d+ FETCH \(UID \d+ FLAGS \(.*\\Flagged \$Work.*\)\)$/);
    // Same UID and FLAGS for every message; the general one only adds INTERNALDATE.
    // (Flag order may differ: an unsolicited update in between replaces the list with the file's order.)
    const norm = (l: string) =>
      l
        .replace(/ INTERNALDATE "[^"]*"/, '')
        .replace(/FLAGS \(([^)]*)\)/, (_, f: string) => `FLAGS (${f.split(' ').sort().join(' ')})`);
    expect(general.out.map(norm)).toEqual(fast.out.map(norm));
    expect((await collect('h', 'FETCH 1 (FLAGS UID)')).out[0]).toMatch(/^\* 1 FETCH \(UID \d+ FLAGS \(/);
    c.close();
  });
});
