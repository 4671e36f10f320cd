// Mailbox-level commands over a real socket: DELETE of a folder with
// children (RFC 3501 §6.3.4, \Noselect), RENAME INBOX (§6.3.5), CREATE with a
// trailing delimiter (§6.3.3) and USE (RFC 6154 §3), and UTF8=ACCEPT (RFC
// 6855): APPEND UTF8 (~{n}...), UTF-8 names in and out as quoted strings;
// RENAME of the selected folder (or its parent) keeps the session on it.
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

const MSG = 'From: a@example.net\r\nSubject: s\r\n\r\nbody\r\n';

async function login(user = 'alice', password = 'secret'): Promise<LineClient> {
  const c = await LineClient.connect(env.server.port);
  await c.expect(/^\* OK/);
  await c.command(`a LOGIN ${user}@example.test "${password}"`, /^a OK /);
  return c;
}

/** The untagged lines of one command, up to its tagged OK. */
async function untagged(c: LineClient, tag: string, command: string): Promise<string[]> {
  c.send(`${tag} ${command}`);
  const out: string[] = [];
  for (;;) {
    const l = await c.expect(/^(\* |[a-z0-9]+ (OK|NO|BAD))/);
    if (l.startsWith(`${tag} `)) {
      expect(l).toMatch(new RegExp(`^${tag} OK`));
      return out;
    }
    if (l.startsWith('* ')) out.push(l); // else the tagged reply of an earlier command
  }
}

function appendLine(tag: string, folder: string, msg: string): Buffer {
  return Buffer.concat([
    Buffer.from(`${tag} APPEND ${folder} {${msg.length}+}\r\n`),
    Buffer.from(msg),
    Buffer.from('\r\n'),
  ]);
}

describe('DELETE of a folder with inferiors (RFC 3501 §6.3.4)', () => {
  it('removes the messages, keeps the children, leaves the name \\Noselect until they are gone', async () => {
    const c = await login();
    await c.command('a CREATE Projects.2024.Q1', /^a OK/);
    c.write(appendLine('b', 'Projects', MSG));
    await c.expect(/^b OK \[APPENDUID/);
    c.write(appendLine('c', 'Projects.2024', MSG));
    await c.expect(/^c OK \[APPENDUID/);
    await c.command('d DELETE Projects', /^d OK/);
    expect(await untagged(c, 'e', 'LIST "" "Projects*"')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "." Projects',
      '* LIST (\\HasChildren) "." Projects.2024',
      '* LIST (\\HasNoChildren) "." Projects.2024.Q1',
    ]);
    // "%" matches the \Noselect parent too; LIST-STATUS leaves it out (RFC 5819 §1).
    expect(await untagged(c, 'f', 'LIST "" "Proj%" RETURN (STATUS (MESSAGES))')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "." Projects',
    ]);
    expect(await untagged(c, 'g', 'LIST "" "Projects.%" RETURN (STATUS (MESSAGES))')).toEqual([
      '* LIST (\\HasChildren) "." Projects.2024',
      '* STATUS Projects.2024 (MESSAGES 1)',
    ]);
    await c.command('h SELECT Projects', /^h NO \[NONEXISTENT\]/);
    await c.command('i STATUS Projects (MESSAGES)', /^i NO \[NONEXISTENT\]/);
    c.write(appendLine('j', 'Projects', MSG));
    await c.expect(/^j NO \[TRYCREATE\]/);
    await c.command('k DELETE Projects', /^k NO \[HASCHILDREN\]/);
    await c.command('l SELECT Projects.2024', /^l OK/);
    await c.command('m DELETE Projects.2024.Q1', /^m OK/);
    await c.command('n UNSELECT', /^n OK/);
    await c.command('o DELETE Projects.2024', /^o OK/);
    expect(await untagged(c, 'p', 'LIST "" "Projects*"')).toEqual([]);
    await c.command('q DELETE Projects', /^q NO \[NONEXISTENT\]/);
    await c.command('r CREATE Projects', /^r OK/);
    await c.command('s SELECT Projects', /^\* 0 EXISTS/);
    c.close();
  });
});

describe('subscriptions (RFC 3501 §6.3.9, RFC 5258 §3.4, §3.5)', () => {
  it('lists subscriptions that outlive their mailbox, parents "%" stops at, and CHILDINFO', async () => {
    const c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK/);
    await c.command('a LOGIN alice@example.test secret', /^a OK/);
    await c.command('b CREATE Fruit.Apple', /^b OK/);
    await c.command('c CREATE Veg', /^c OK/);
    await c.command('d SUBSCRIBE Fruit.Apple', /^d OK/);
    await c.command('e SUBSCRIBE Gone', /^e OK/);
    await c.command('f SUBSCRIBE Veg', /^f OK/);
    await c.command('g DELETE Veg', /^g OK/);
    // A subscribed child below the "%" level: the parent, \Noselect (§6.3.9).
    const lsub = await untagged(c, 'h', 'LSUB "" "%"');
    expect(lsub).toContain('* LSUB (\\Noselect) "." Fruit');
    expect(lsub).toContain('* LSUB (\\Noselect) "." Gone');
    expect(lsub).toContain('* LSUB (\\Noselect) "." Veg');
    expect(lsub.join('\n')).not.toContain('Fruit.Apple');
    expect(await untagged(c, 'i', 'LSUB "" "Fruit*"')).toEqual(['* LSUB (\\HasNoChildren) "." Fruit.Apple']);
    // Plain LIST shows only what exists; LIST (SUBSCRIBED) shows the rest \NonExistent.
    expect((await untagged(c, 'j', 'LIST "" "*"')).join('\n')).not.toMatch(/Gone|Veg/);
    const subscribed = await untagged(c, 'k', 'LIST (SUBSCRIBED) "" "*"');
    expect(subscribed).toContain('* LIST (\\NonExistent \\Subscribed) "." Gone');
    expect(subscribed).toContain('* LIST (\\HasNoChildren \\Subscribed) "." Fruit.Apple');
    expect(subscribed.join('\n')).not.toMatch(/" Fruit$/m);
    expect(await untagged(c, 'l', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fr%"')).toEqual([
      '* LIST (\\HasChildren) "." Fruit ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
    expect(await untagged(c, 'm', 'LIST (SUBSCRIBED) "" "Fr%"')).toEqual([]);
    c.close();
  });
});

describe('RENAME INBOX and CREATE (RFC 3501 §6.3.3, §6.3.5, RFC 6154 §3)', () => {
  it('RENAME INBOX moves its messages and leaves INBOX empty, with its children', async () => {
    const c = await login('bob', 'pass word');
    c.write(appendLine('a', 'INBOX', MSG));
    await c.expect(/^a OK/);
    c.write(appendLine('b', 'INBOX', MSG));
    await c.expect(/^b OK/);
    await c.command('c CREATE INBOX.Child', /^c OK/);
    await c.command('d RENAME inbox "Old Mail"', /^d OK/);
    await c.command('e STATUS "Old Mail" (MESSAGES)', /^\* STATUS "Old Mail" \(MESSAGES 2\)/);
    await c.command('f STATUS INBOX (MESSAGES)', /^\* STATUS INBOX \(MESSAGES 0\)/);
    expect(await untagged(c, 'g', 'LIST "" "INBOX*"')).toEqual([
      '* LIST (\\HasChildren) "." INBOX',
      '* LIST (\\HasNoChildren) "." INBOX.Child',
    ]);
    await c.command('h RENAME INBOX "Old Mail"', /^h NO \[ALREADYEXISTS\]/);
    await c.command('i RENAME "Old Mail" INBOX', /^i NO/);
    c.close();
  });

  it('CREATE with a trailing delimiter creates the name; USE must agree with the name', async () => {
    const c = await login('bob', 'pass word');
    await c.command('a CREATE Lists.', /^a OK/);
    expect(await untagged(c, 'b', 'LIST "" "Lists*"')).toEqual(['* LIST (\\HasNoChildren) "." Lists']);
    await c.command('c CREATE "a..b"', /^c NO \[CANNOT\]/);
    await c.command('d CREATE "a/b"', /^d NO \[CANNOT\]/);
    await c.command('e CREATE "tab\there"', /^e NO \[CANNOT\]/);
    await c.command('f CREATE "&Jjo"', /^f NO \[CANNOT\]/);
    await c.command('g CREATE MyTrash (USE (\\Trash))', /^g NO \[USEATTR\]/);
    await c.command('h DELETE Archive', /^h OK/);
    await c.command('i CREATE Archive (USE (\\Archive \\Junk))', /^i NO \[USEATTR\]/);
    await c.command('j CREATE Archive (USE (\\Archive))', /^j OK/);
    await c.command(
      'k LIST (SPECIAL-USE) "" "Arch*"',
      /^\* LIST \(\\HasNoChildren \\Archive\) "\." Archive$/,
    );
    await c.command('l CREATE Other (FOO (\\Archive))', /^l BAD/);
    c.close();
  });
});

describe('RENAME of the selected mailbox', () => {
  it('keeps the session on the folder under its new name, as Dovecot does', async () => {
    const c = await login();
    await c.command('a CREATE Trips.Sub', /^a OK/);
    c.write(appendLine('b', 'Trips', MSG));
    await c.expect(/^b OK/);
    c.write(appendLine('c', 'Trips', MSG));
    await c.expect(/^c OK/);
    c.write(appendLine('d', 'Trips.Sub', MSG));
    await c.expect(/^d OK/);
    await c.command('e SELECT Trips', /^\* 2 EXISTS/);
    await c.expect(/^e OK/);
    await c.command('f STORE 1 +FLAGS.SILENT (\\Flagged)', /^f OK/);
    await c.command('g RENAME Trips Journeys', /^g OK/);
    // The same messages, numbers and flags, now read from Journeys.
    expect(await untagged(c, 'h', 'FETCH 1:2 (UID FLAGS)')).toEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))',
      '* 2 FETCH (UID 2 FLAGS (\\Recent))',
    ]);
    await c.command('i UID FETCH 2 (BODY.PEEK[TEXT])', /^\* 2 FETCH \(UID 2 BODY\[TEXT\] \{6\}/);
    await c.expect(/^i OK/);
    expect(await untagged(c, 'j', 'STORE 2 +FLAGS (\\Seen)')).toEqual([
      '* 2 FETCH (FLAGS (\\Seen \\Recent))',
    ]);
    // APPEND to it and delivery into it reach the session (events now name Journeys).
    c.write(appendLine('k', 'Journeys', MSG));
    await c.expect(/^\* 3 EXISTS/);
    await c.expect(/^k OK/);
    await env.put('alice', MSG, 'Journeys');
    await c.command('l NOOP', /^\* 4 EXISTS/);
    await c.command('m STATUS Trips (MESSAGES)', /^m NO/);
    // Renaming a parent moves the selected child too; IDLE there hears new mail.
    await c.command('n SELECT Journeys.Sub', /^n OK/);
    await c.command('o RENAME Journeys Voyages', /^o OK/);
    await c.command('p FETCH 1 (UID)', /^\* 1 FETCH \(UID 1\)/);
    c.send('q IDLE');
    await c.expect(/^\+ idling/);
    await env.put('alice', MSG, 'Voyages.Sub');
    await c.expect(/^\* 2 EXISTS/);
    c.send('DONE');
    await c.expect(/^q OK/);
    await c.command('r STORE 1 +FLAGS.SILENT (\\Deleted)', /^r OK/);
    await c.command('s EXPUNGE', /^\* 1 EXPUNGE/);
    await c.command('t STATUS Voyages.Sub (MESSAGES)', /^\* STATUS Voyages\.Sub \(MESSAGES 1\)/);
    c.close();
  });
});

describe('UTF8=ACCEPT (RFC 6855)', () => {
  const subject = 'Gr\u00fc\u00dfe aus K\u00f6ln';
  const utf8Msg = Buffer.from(
    `From: J\u00fcrgen <j@example.net>\r\nSubject: ${subject}\r\n\r\nHallo\r\n`,
    'utf8',
  );

  it('APPEND UTF8 (~{n}) only after ENABLE, synchronising and not', async () => {
    const c = await login('carol');
    // Before ENABLE the UTF8 data item is a syntax error (RFC 6855 §4).
    c.write(
      Buffer.concat([
        Buffer.from(`a APPEND INBOX UTF8 (~{${utf8Msg.length}+}\r\n`),
        utf8Msg,
        Buffer.from(')\r\n'),
      ]),
    );
    await c.expect(/^a BAD/);
    await c.command('b ENABLE UTF8=ACCEPT', /^\* ENABLED UTF8=ACCEPT$/);
    c.write(
      Buffer.concat([
        Buffer.from(`c APPEND INBOX UTF8 (~{${utf8Msg.length}+}\r\n`),
        utf8Msg,
        Buffer.from(')\r\n'),
      ]),
    );
    await c.expect(/^c OK \[APPENDUID \d+ 1\]/);
    c.send(`d APPEND INBOX (\\Seen) UTF8 (~{${utf8Msg.length}}`);
    await c.expect(/^\+ /);
    c.write(Buffer.concat([utf8Msg, Buffer.from(')\r\n')]));
    await c.expect(/^d OK \[APPENDUID \d+ 2\]/);
    // The data item must be closed by ")".
    c.write(
      Buffer.concat([
        Buffer.from(`e APPEND INBOX UTF8 (~{${utf8Msg.length}+}\r\n`),
        utf8Msg,
        Buffer.from('\r\n'),
      ]),
    );
    await c.expect(/^e BAD/);
    await c.command('f SELECT INBOX', /^f OK/);
    await c.command('g FETCH 1:2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]', /^\* 1 FETCH /);
    const line = await c.expect(/^Subject: /);
    expect(Buffer.from(line, 'latin1').toString('utf8')).toBe(`Subject: ${subject}`);
    await c.expect(/^g OK/);
    // RFC 6855 §3: no CHARSET in SEARCH once UTF-8 is enabled; UTF-8 strings without it.
    await c.command('h SEARCH CHARSET UTF-8 SUBJECT K\u00f6ln', /^h BAD/);
    c.write(Buffer.from(`i SEARCH SUBJECT "K\u00f6ln"\r\n`, 'utf8'));
    expect(await c.expect(/^\* SEARCH/)).toBe('* SEARCH 1 2');
    await c.expect(/^i OK/);
    c.close();
  });

  it('takes UTF-8 names as quoted strings and answers with quoted UTF-8; refuses invalid ones', async () => {
    const c = await login('carol');
    await c.command('a ENABLE UTF8=ACCEPT', /^a OK/);
    const name = 'Entw\u00fcrfe.K\u00f6ln';
    c.write(Buffer.from(`b CREATE "${name}"\r\n`, 'utf8'));
    await c.expect(/^b OK/);
    c.write(Buffer.from(`c STATUS "${name}" (MESSAGES)\r\n`, 'utf8'));
    const st = await c.expect(/^\* STATUS /);
    expect(Buffer.from(st, 'latin1').toString('utf8')).toBe(`* STATUS "${name}" (MESSAGES 0)`);
    await c.expect(/^c OK/);
    c.write(Buffer.from(`d SELECT "${name}"\r\n`, 'utf8'));
    await c.expect(/^d OK/);
    // Not UTF-8, a C1 control, U+2028: NO [CANNOT] (RFC 6855 §3).
    c.write(Buffer.concat([Buffer.from('e CREATE "bad'), Buffer.from([0xff, 0xfe]), Buffer.from('"\r\n')]));
    await c.expect(/^e NO \[CANNOT\]/);
    c.write(Buffer.from('f CREATE "c1\u0085x"\r\n', 'utf8'));
    await c.expect(/^f NO \[CANNOT\]/);
    c.write(Buffer.from('g CREATE "ls\u2028x"\r\n', 'utf8'));
    await c.expect(/^g NO \[CANNOT\]/);
    // A client without UTF8=ACCEPT sees the same folder in modified UTF-7.
    const plain = await login('carol');
    await plain.command('h LIST "" "Entw*"', /^\* LIST \(\\HasChildren\) "\." Entw&APw-rfe$/);
    await plain.expect(/^\* LIST \(\\HasNoChildren\) "\." Entw&APw-rfe\.K&APY-ln$/);
    c.close();
    plain.close();
  });
});
