// Interop with real clients over real sockets: imapflow (sync, flags, move,
// IDLE hearing a delivered message), curl's imap:// (list, fetch, STARTTLS),
// and the commands Thunderbird, Apple Mail and mutt send at start-up.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LineClient } from '@postamt/testkit';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

const run = promisify(execFile);
let env: TestEnv;

const msg = (subject: string, body = 'hello there') =>
  `From: Ann <ann@example.net>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n\r\n${body}\r\n`;

beforeAll(async () => {
  env = await startEnv();
  await env.put('alice', msg('first'));
  await env.put('alice', msg('second'));
  await env.put('bob', msg('for curl', 'curl body line'));
});
afterAll(async () => {
  await env?.stop();
});

function flow(user = 'alice@example.test', pass = 'secret'): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: env.server.port,
    secure: false,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
  });
}

describe('imapflow', () => {
  it('lists, opens, fetches, flags and moves', async () => {
    const c = flow();
    await c.connect();
    expect(c.secureConnection).toBe(true); // upgraded with STARTTLS on its own
    const folders = await c.list();
    const byPath = new Map(folders.map((f) => [f.path, f]));
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining(['INBOX', 'Sent', 'Drafts', 'Junk', 'Trash', 'Archive']),
    );
    expect(byPath.get('Junk')?.specialUse).toBe('\\Junk');
    const box = await c.mailboxOpen('INBOX');
    expect(box.exists).toBe(2);
    const seen: string[] = [];
    for await (const m of c.fetch('1:*', {
      envelope: true,
      flags: true,
      bodyStructure: true,
      source: true,
      uid: true,
    })) {
      seen.push(m.envelope?.subject ?? '');
      expect(m.bodyStructure?.type).toBe('text/plain');
      expect(m.source?.toString()).toContain('hello there');
    }
    expect(seen).toEqual(['first', 'second']);
    await c.messageFlagsAdd('1', ['\\Flagged', '$Important']);
    const one = await c.fetchOne('1', { flags: true });
    expect(one && [...(one.flags ?? [])]).toEqual(expect.arrayContaining(['\\Flagged', '$Important']));
    const moved = await c.messageMove('2', 'Archive');
    expect(moved ? moved.uidMap?.size : 0).toBe(1);
    expect((await c.status('Archive', { messages: true })).messages).toBe(1);
    await c.logout();
  });

  it('IDLE hears a message delivered by another process', async () => {
    const c = flow();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const before = (c.mailbox as { exists: number }).exists;
    const arrived = new Promise<number>((resolve) =>
      c.on('exists', (d: { count: number }) => resolve(d.count)),
    );
    const idling = c.idle();
    await new Promise((r) => setTimeout(r, 100));
    await env.put('alice', msg('pushed'));
    const count = await Promise.race([
      arrived,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no EXISTS within 3s')), 3000)),
    ]);
    expect(count).toBe(before + 1);
    await c.logout();
    await idling.catch(() => {});
  });
});

describe('curl', () => {
  const url = (path = '') => `imap://bob%40example.test:pass%20word@127.0.0.1:${env.server.port}/${path}`;

  it('lists folders and fetches a message over plain loopback', async () => {
    const list = await run('curl', ['-sS', '--max-time', '10', url()]);
    expect(list.stdout).toMatch(/\* LIST \(.*\) "\." INBOX/);
    expect(list.stdout).toMatch(/\\Junk\) "\." Junk/);
    // curl prints the untagged lines of a custom command (not literal data).
    const size = Buffer.byteLength(msg('for curl', 'curl body line'));
    const body = await run('curl', ['-sS', '--max-time', '10', url('INBOX'), '-X', 'FETCH 1 BODY[]']);
    expect(body.stdout).toContain(`* 1 FETCH (BODY[] {${size}}`);
    const byUid = await run('curl', ['-sS', '--max-time', '10', `${url('INBOX')};UID=1`]);
    expect(byUid.stdout).toContain('curl body line');
  });

  it('upgrades with STARTTLS (--ssl-reqd)', async () => {
    const flags = await run('curl', [
      '-sS',
      '--max-time',
      '10',
      '--ssl-reqd',
      '-k',
      url('INBOX'),
      '-X',
      'FETCH 1 (FLAGS)',
    ]);
    expect(flags.stdout).toContain('* 1 FETCH (FLAGS (\\Seen))'); // set by the BODY[] fetch above
    const section = `${url('INBOX')};UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)`;
    const r = await run('curl', ['-sS', '--max-time', '10', '--ssl-reqd', '-k', section]);
    expect(r.stdout).toBe('Subject: for curl\r\n\r\n');
  });
});

describe('desktop client start-up', () => {
  it('answers the Thunderbird / Apple Mail / mutt opening sequence', async () => {
    const c = await LineClient.connect(env.server.port);
    await c.expect(/^\* OK \[CAPABILITY IMAP4rev1 /);
    await c.command('1 CAPABILITY', /^\* CAPABILITY .*IDLE/);
    await c.expect(/^1 OK/);
    await c.command('2 LOGIN alice@example.test secret', /^2 OK \[CAPABILITY .*MOVE/);
    await c.command('3 ID ("name" "Thunderbird" "version" "128.0")', /^\* ID \("name" "Postamt"\)/);
    await c.expect(/^3 OK/);
    await c.command('4 NAMESPACE', /^\* NAMESPACE \(\(""\s"\."\)\) NIL NIL$/);
    await c.expect(/^4 OK/);
    c.send('5 LIST "" "*" RETURN (SPECIAL-USE SUBSCRIBED)');
    const lines: string[] = [];
    for (;;) {
      const l = await c.expect(/^(\* LIST|5 )/);
      if (l.startsWith('5 ')) {
        expect(l).toMatch(/^5 OK/);
        break;
      }
      lines.push(l);
    }
    expect(lines).toContain('* LIST (\\HasNoChildren \\Subscribed) "." INBOX');
    expect(lines).toContain('* LIST (\\HasNoChildren \\Sent \\Subscribed) "." Sent');
    expect(lines).toContain('* LIST (\\HasNoChildren \\Trash \\Subscribed) "." Trash');
    await c.command(
      '6 STATUS INBOX (MESSAGES UNSEEN RECENT UIDNEXT UIDVALIDITY)',
      /^\* STATUS INBOX \(MESSAGES \d+ UNSEEN \d+ RECENT \d+ UIDNEXT \d+ UIDVALIDITY \d+\)/,
    );
    await c.expect(/^6 OK/);
    c.send('7 SELECT INBOX');
    await c.expect(/^\* FLAGS \(/);
    await c.expect(/^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]/);
    await c.expect(/^\* \d+ EXISTS/);
    await c.expect(/^\* OK \[UIDVALIDITY \d+\]/);
    await c.expect(/^7 OK \[READ-WRITE\]/);
    await c.command('8 UID FETCH 1:* (FLAGS)', /^\* 1 FETCH \(UID 1 FLAGS \(.*\)\)$/);
    await c.expect(/^8 OK/);
    await c.command('9 LOGOUT', /^\* BYE/);
    await c.expect(/^9 OK/);
  });
});
