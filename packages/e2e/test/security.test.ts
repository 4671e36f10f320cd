// The security cases of issue 11 as explicit tests against the real servers:
// no open relay, no SMTP smuggling, no STARTTLS command injection, failed
// logins throttled, no mailbox path traversal, literal and line-length bombs
// refused without harm.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineClient, sleep } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Servers, startServers } from './helpers/servers.js';
import { spoolState } from './helpers/volume.js';

let s: Servers;

beforeAll(async () => {
  s = await startServers('security');
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

async function smtpSession(): Promise<LineClient> {
  const c = await LineClient.connect(s.smtp);
  await c.expect(/^220 /);
  c.send('EHLO client.example.org');
  await c.expect(/^250 /);
  return c;
}

/** Reads everything the server says until it is quiet for `quietMs` or closes. */
async function drainLines(c: LineClient, quietMs = 700): Promise<string[]> {
  let n = -1;
  while (n !== c.lines.length && !c.closed) {
    n = c.lines.length;
    await sleep(quietMs);
  }
  return c.lines.splice(0);
}

async function imapLogin(): Promise<LineClient> {
  const c = await LineClient.connect(s.imap);
  await c.expect(/^\* OK/);
  await c.command('a LOGIN alice@example.test alice-secret', /^a OK/);
  return c;
}

describe('open relay', () => {
  const attempts = [
    'user%remote.example@example.test',
    '@relay.example:victim@remote.example',
    '@a.example,@b.example:victim@remote.example',
    '"victim@remote.example"@example.test',
    '"alice@example.test"@remote.example',
    'victim@remote.example@example.test',
    'remote.example!victim@example.test',
    'victim@remote.example',
    'victim@[192.0.2.1]',
    'postmaster@[127.0.0.1]',
    'alice@example.test@remote.example',
  ];
  it.each(attempts)('RCPT TO:<%s> is refused, and DATA finds no recipient', async (rcpt) => {
    const before = spoolState(s.stack.data).committed.length;
    const c = await smtpSession();
    await c.command('MAIL FROM:<spammer@example.org>', /^250 /);
    const reply = await c.command(`RCPT TO:<${rcpt}>`, /^\d{3} /);
    expect(reply).toMatch(/^5\d\d /);
    const data = await c.command('DATA', /^\d{3} /);
    expect(data).toMatch(/^5\d\d /);
    c.close();
    expect(spoolState(s.stack.data).committed.length).toBe(before);
  });
});

describe('SMTP smuggling', () => {
  // Ends of data that other servers have accepted (SEC Consult 2023): only
  // <CRLF>.<CRLF> may end DATA, so each stays one message (or is refused whole).
  const variants: Record<string, string> = {
    'LF.LF': '\n.\n',
    'LF.CRLF': '\n.\r\n',
    'CRLF.LF': '\r\n.\n',
    'CR.CR': '\r.\r',
    'CR.CRLF': '\r.\r\n',
    'CRLF.CR': '\r\n.\r',
    'LF.CR': '\n.\r',
  };
  it.each(Object.entries(variants))('%s inside DATA does not end the message', async (_name, end) => {
    const before = new Set(spoolState(s.stack.data).committed);
    const c = await smtpSession();
    await c.command('MAIL FROM:<sender@example.org>', /^250 /);
    await c.command('RCPT TO:<alice@example.test>', /^250 /);
    await c.command('DATA', /^354 /);
    const token = `smuggled-${Math.random().toString(36).slice(2)}`;
    c.write(
      `From: <sender@example.org>\r\nSubject: outer\r\n\r\nhello${end}` +
        `MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n` +
        `Subject: ${token}\r\n\r\ninner\r\n.\r\n`,
    );
    const lines = await drainLines(c);
    c.close();
    const queued = lines.filter((l) => /queued as/.test(l));
    expect(queued.length).toBeLessThanOrEqual(1);
    const added = spoolState(s.stack.data).committed.filter((f) => !before.has(f));
    expect(added.length).toBe(queued.length);
    for (const f of added) {
      // The smuggled part is body text of the one message, addressed to alice only.
      const text = readFileSync(join(s.stack.data, 'spool', f), 'latin1');
      expect(text).toContain(token);
      const envelope = JSON.parse(
        /^POSTAMT-SPOOL\/1 (\d+)[ \n]/.exec(text)
          ? text.slice(
              text.indexOf('\n') + 1,
              text.indexOf('\n') + 1 + Number(/^POSTAMT-SPOOL\/1 (\d+)/.exec(text)?.[1]),
            )
          : '{}',
      ) as { rcptTo?: Array<{ address: string }> };
      expect(envelope.rcptTo?.map((r) => r.address)).toEqual(['alice@example.test']);
    }
  });
});

describe('STARTTLS injection', () => {
  it('SMTP: a command pipelined after STARTTLS is not run inside TLS', async () => {
    const c = await smtpSession();
    c.write('STARTTLS\r\nRCPT TO:<alice@example.test>\r\n');
    await c.expect(/^220 /);
    const plain = await drainLines(c, 300);
    if (c.closed) return; // refusing the connection is also safe
    await c.startTls();
    c.send('NOOP');
    const first = await c.expect(/^\d{3} /);
    // Had the injected RCPT run, its 503 (no MAIL) would come first.
    expect(first).toMatch(/^250 /);
    expect(plain.filter((l) => /^503 /.test(l))).toEqual([]);
    c.close();
  });

  it('POP3: a USER pipelined after STLS is discarded', async () => {
    const c = await LineClient.connect(s.pop3);
    await c.expect(/^\+OK/);
    c.write('STLS\r\nUSER alice@example.test\r\n');
    await c.expect(/^\+OK/);
    await drainLines(c, 300);
    if (c.closed) return;
    await c.startTls();
    c.send('PASS alice-secret');
    expect(await c.expect(/^[+-]/)).toMatch(/^-ERR/);
    c.close();
  });

  it('IMAP: a command pipelined after STARTTLS is discarded', async () => {
    const c = await LineClient.connect(s.imap);
    await c.expect(/^\* OK/);
    c.write('a STARTTLS\r\nb LOGIN alice@example.test alice-secret\r\n');
    await c.expect(/^a OK/);
    await drainLines(c, 300);
    if (c.closed) return;
    await c.startTls();
    c.send('c NOOP');
    await c.expect(/^c OK/);
    expect(c.lines.filter((l) => /^b /.test(l))).toEqual([]);
    c.send('d SELECT INBOX');
    expect(await c.expect(/^d /)).toMatch(/^d (NO|BAD)/);
    c.close();
  });
});

describe('failed logins are throttled', () => {
  it('POP3 closes after the failure limit, each failure delayed', async () => {
    const c = await LineClient.connect(s.pop3);
    await c.expect(/^\+OK/);
    const t0 = Date.now();
    let failures = 0;
    for (let i = 0; i < 10 && !c.closed; i++) {
      c.send('USER alice@example.test');
      const u = await c.expect(/^[+-]/).catch(() => null);
      if (!u) break;
      c.send(`PASS wrong-${i}`);
      const p = await c.expect(/^[+-]/).catch(() => null);
      if (!p) break;
      expect(p).toMatch(/^-ERR/);
      failures++;
    }
    await c.waitClosed(5_000);
    expect(failures).toBeLessThanOrEqual(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(failures * 250);
  });

  it('IMAP closes after the failure limit, each failure delayed', async () => {
    const c = await LineClient.connect(s.imap);
    await c.expect(/^\* OK/);
    const t0 = Date.now();
    let failures = 0;
    for (let i = 0; i < 10 && !c.closed; i++) {
      c.send(`t${i} LOGIN alice@example.test wrong-${i}`);
      const r = await c.expect(new RegExp(`^t${i} `)).catch(() => null);
      if (!r) break;
      expect(r).toMatch(/^t\d+ NO/);
      failures++;
    }
    await c.waitClosed(5_000);
    expect(failures).toBeLessThanOrEqual(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(failures * 250);
  });
});

describe('IMAP mailbox names cannot leave the user’s Maildir', () => {
  const names = [
    '"../x"',
    '"a/../../b"',
    '"../../../../tmp/postamt-evil"',
    '".."',
    '"."',
    '"INBOX/../../c"',
    '"/etc/postamt-evil"',
    '"~root"',
    '"a/./../.."',
    '".Junk/../../d"',
    '"..\\\\..\\\\e"',
  ];
  it('CREATE, RENAME and DELETE with traversal names touch nothing outside', async () => {
    const data = s.stack.data;
    const c = await imapLogin();
    const top = readdirSync(data).sort();
    const domain = join(data, 'mail', 'example.test');
    const usersBefore = existsSync(domain) ? readdirSync(domain).sort() : [];
    let n = 0;
    for (const name of names) {
      for (const cmd of [`CREATE ${name}`, `RENAME INBOX ${name}`, `DELETE ${name}`, `SELECT ${name}`]) {
        const tag = `p${n++}`;
        c.send(`${tag} ${cmd}`);
        await c.expect(new RegExp(`^${tag} (OK|NO|BAD)`));
      }
    }
    // A NUL inside a literal mailbox name (RFC 3501 §4.3: NUL never allowed).
    c.write('z1 CREATE {7}\r\n');
    await c.expect(/^\+|^z1 (NO|BAD)/);
    c.write('foo\0bar\r\n');
    await c.expect(/^z1 (NO|BAD)/);
    c.close();
    // Only alice's own Maildir may have appeared (it is made on first use).
    expect(readdirSync(data).filter((n) => !top.includes(n) && n !== 'mail')).toEqual([]);
    expect(readdirSync(join(data, 'mail')).filter((n) => n !== 'example.test')).toEqual([]);
    expect(readdirSync(domain).filter((u) => !usersBefore.includes(u) && u !== 'alice')).toEqual([]);
    expect(existsSync('/tmp/postamt-evil')).toBe(false);
    expect(existsSync('/etc/postamt-evil')).toBe(false);
    for (const stray of ['x', 'b', 'c', 'd', 'e']) {
      expect(existsSync(join(data, 'mail', stray))).toBe(false);
      expect(existsSync(join(domain, stray))).toBe(false);
    }
  });
});

describe('literal and line-length bombs', () => {
  async function stillServing(): Promise<void> {
    const c = await imapLogin();
    await c.command('b LOGOUT', /^b OK/);
    const p = await LineClient.connect(s.pop3);
    await p.expect(/^\+OK/);
    p.close();
    const m = await smtpSession();
    m.close();
    c.close();
  }

  it('IMAP refuses huge literals without reading them', async () => {
    const c = await imapLogin();
    c.send('a APPEND INBOX {999999999999}');
    expect(await c.expect(/^(a |\+)/)).toMatch(/^a (NO|BAD)/);
    if (!c.closed) {
      c.send('b LOGIN {4294967296+}');
      await Promise.race([c.expect(/^(b |\* BYE)/).catch(() => ''), c.waitClosed(5000)]);
    }
    c.close();
    await stillServing();
  });

  it.each([
    ['SMTP', () => s.smtp, /^220 /],
    ['POP3', () => s.pop3, /^\+OK/],
    ['IMAP', () => s.imap, /^\* OK/],
  ] as const)('%s answers or closes on a 2 MB line', async (_p, port, greeting) => {
    const c = await LineClient.connect(port());
    await c.expect(greeting);
    const chunk = 'A'.repeat(64 * 1024);
    for (let i = 0; i < 32 && !c.closed; i++) {
      c.write(chunk);
      await sleep(5);
    }
    c.write('\r\n');
    const got = await Promise.race([
      c.expect(/^(\d{3}|-ERR|\* BYE|\S+ BAD|\* BAD)/, 10_000).then(() => 'answered'),
      c.waitClosed(10_000).then(() => 'closed'),
    ]).catch(() => 'hung');
    expect(got).not.toBe('hung');
    c.close();
    await stillServing();
  });
});
