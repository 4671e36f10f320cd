// Submission (587 STARTTLS, 465 implicit TLS) as a real intake process on a
// real Redis, driven by nodemailer's SMTPConnection, swaks and a scripted
// socket: TLS before AUTH and MAIL, AUTH PLAIN/LOGIN against the directory,
// failed-login lockout, no relaying without AUTH, and the sender policy.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Directory } from '@postamt/directory';
import { connectRedis, type Redis, Spool } from '@postamt/queue';
import {
  freePort,
  LineClient,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  startRedis,
  startService,
} from '@postamt/testkit';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

let redisServer: RedisServer;
let redis: Redis;
let intake: ServiceProcess;
let data: string;
let mxPort: number;
let port587: number;
let port465: number;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = connectRedis(redisServer.url, 'worker');
  redis.on('error', () => {});
  const dir = new Directory(redis);
  await dir.addDomain('example.test');
  await dir.putUser({ address: 'alice@example.test', password: 'alice-secret' });
  await dir.putUser({ address: 'carol@example.test', password: 'carol-secret' });
  await dir.putUser({ address: 'dave@example.test', password: 'dave-secret' });
  await dir.putAlias('postmaster@example.test', ['alice@example.test']);
  await dir.putAlias('sales@example.test', ['carol@example.test', 'dave@example.test']);
  data = makeTempDir('submission-data');
  [mxPort, port587, port465] = await Promise.all([freePort(), freePort(), freePort()]);
  intake = await startService('intake', {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    POSTAMT_SMTP_PORT: String(mxPort),
    POSTAMT_SUBMISSION_PORT: String(port587),
    POSTAMT_SUBMISSIONS_PORT: String(port465),
    POSTAMT_SUBMISSION_AUTH_MAX_FAILURES: '3',
    POSTAMT_SUBMISSION_AUTH_MAX_FAILURES_PER_IP: '100',
    POSTAMT_SUBMISSION_AUTH_FAILURE_DELAY: '0s',
    POSTAMT_SUBMISSION_AUTH_LOCKOUT: '1h',
    POSTAMT_MYNETWORKS: '127.0.0.0/8',
    POSTAMT_LOG_LEVEL: 'debug',
  });
});

afterAll(async () => {
  await intake?.stop();
  redis?.disconnect();
  await redisServer?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function ehlo(c: LineClient): Promise<string[]> {
  c.send('EHLO client.example.org');
  const lines: string[] = [];
  for (;;) {
    const l = await c.expect(/^\d{3}[- ]/);
    lines.push(l);
    if (/^\d{3} /.test(l)) return lines;
  }
}

/** A scripted session on 587 after STARTTLS and a second EHLO. */
async function secured(port = port587): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.expect(/^220 /);
  await ehlo(c);
  await c.command('STARTTLS', /^220 /);
  await c.startTls();
  await ehlo(c);
  return c;
}

function message(from: string, to: string, subject: string): string {
  return [`From: <${from}>`, `To: <${to}>`, `Subject: ${subject}`, '', `Body of ${subject}`, ''].join('\r\n');
}

interface Sent {
  ok: boolean;
  response: string;
}

/** nodemailer's SMTP client: STARTTLS on 587 or implicit TLS on 465, then AUTH and one message. */
async function submit(o: {
  secure: boolean;
  user: string;
  pass: string;
  method?: 'PLAIN' | 'LOGIN';
  from: string;
  to: string[];
  body: string;
}): Promise<Sent> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port: o.secure ? port465 : port587,
    secure: o.secure,
    requireTLS: !o.secure,
    name: 'client.example.org',
    tls: { rejectUnauthorized: false },
    ...(o.method ? { authMethod: o.method } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  try {
    await new Promise<void>((resolve, reject) =>
      conn.login({ user: o.user, pass: o.pass }, (err) => (err ? reject(err) : resolve())),
    );
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send({ from: o.from, to: o.to }, o.body, (err, i) =>
        err ? reject(err) : resolve(i as { response: string }),
      ),
    );
    return { ok: true, response: info.response };
  } catch (err) {
    const e = err as { response?: string; message: string };
    return { ok: false, response: e.response ?? e.message };
  } finally {
    conn.quit();
  }
}

const queuedId = (r: string) => /queued as ([0-9A-Z]{26})/.exec(r)?.[1];

async function spooled(id: string) {
  const m = await new Spool(data).openMessage(id);
  const chunks: Buffer[] = [];
  for await (const c of m.stream()) chunks.push(c as Buffer);
  return { envelope: m.envelope, text: Buffer.concat(chunks).toString() };
}

describe('submission listeners', () => {
  it('587 without TLS: AUTH not offered and refused with 538, MAIL needs STARTTLS', async () => {
    const c = await LineClient.connect(port587);
    await c.expect(/^220 /);
    const lines = await ehlo(c);
    expect(lines).toContain('250-STARTTLS');
    expect(lines.some((l) => l.includes('AUTH'))).toBe(false);
    expect(await c.command(`AUTH PLAIN ${b64('\0alice@example.test\0alice-secret')}`, /^\d{3} /)).toMatch(
      /^538 5\.7\.11 /,
    );
    expect(await c.command('MAIL FROM:<alice@example.test>', /^\d{3} /)).toMatch(/^530 5\.7\.0 .*STARTTLS/);
    c.close();
  });

  it('the MX listener never offers or accepts AUTH, even under TLS', async () => {
    const c = await LineClient.connect(mxPort);
    await c.expect(/^220 /);
    await ehlo(c);
    await c.command('STARTTLS', /^220 /);
    await c.startTls();
    const lines = await ehlo(c);
    expect(lines.some((l) => l.includes('AUTH'))).toBe(false);
    expect(await c.command(`AUTH PLAIN ${b64('\0alice@example.test\0alice-secret')}`, /^\d{3} /)).toMatch(
      /^502 5\.5\.1 /,
    );
    c.close();
  });

  it('refuses an unauthenticated client on 587 (no open relay): 530 5.7.0', async () => {
    const c = await secured();
    expect(await c.command('MAIL FROM:<bob@elsewhere.example>', /^\d{3} /)).toMatch(
      /^530 5\.7\.0 Authentication required/,
    );
    expect(await c.command('RCPT TO:<victim@remote.example>', /^\d{3} /)).toMatch(/^503 /);
    c.close();
  });

  it('AUTH LOGIN over STARTTLS (nodemailer): remote recipients accepted, spooled as submission', async () => {
    const r = await submit({
      secure: false,
      user: 'alice@example.test',
      pass: 'alice-secret',
      method: 'LOGIN',
      from: 'alice@example.test',
      to: ['bob@remote.example', 'carol@example.test'],
      body: message('alice@example.test', 'bob@remote.example', 'via 587'),
    });
    expect(r.ok).toBe(true);
    const id = queuedId(r.response);
    expect(id).toBeDefined();
    const m = await spooled(id as string);
    expect(m.envelope.source).toBe('submission');
    expect(m.envelope.authUser).toBe('alice@example.test');
    expect(m.envelope.rcptTo.map((x) => x.address)).toEqual(['bob@remote.example', 'carol@example.test']);
    expect(m.text).toMatch(/^Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)\r\n/);
    expect(m.text).toContain('\t(Authenticated sender: alice@example.test)\r\n');
    expect(m.text).toMatch(/with ESMTPSA id [0-9A-Z]{26} \(using TLSv1\.[23] with cipher /);
  });

  it('AUTH PLAIN over implicit TLS on 465 (nodemailer, secure: true)', async () => {
    const r = await submit({
      secure: true,
      user: 'alice@example.test',
      pass: 'alice-secret',
      method: 'PLAIN',
      from: 'alice@example.test',
      to: ['bob@remote.example'],
      body: message('alice@example.test', 'bob@remote.example', 'via 465'),
    });
    expect(r.ok).toBe(true);
    const m = await spooled(queuedId(r.response) as string);
    expect(m.envelope.source).toBe('submission');
    expect(m.text).toMatch(/with ESMTPSA id /);
  });

  it('swaks --tls --auth PLAIN and LOGIN', async () => {
    for (const auth of ['PLAIN', 'LOGIN']) {
      const { stdout } = await run('swaks', [
        '--server',
        `127.0.0.1:${port587}`,
        '--tls',
        '--auth',
        auth,
        '--auth-user',
        'alice@example.test',
        '--auth-password',
        'alice-secret',
        '--from',
        'alice@example.test',
        '--to',
        'bob@remote.example',
        '--header',
        'From: alice@example.test',
        '--helo',
        'client.example.org',
      ]);
      expect(stdout).toMatch(/<~ {2}235 2\.7\.0 /);
      expect(stdout).toMatch(/<~ {2}250 2\.0\.0 Ok: queued as /);
    }
  });

  it('a wrong password is 535 5.7.8; after 3 failures the account is locked (454), even with the right one', async () => {
    const c = await secured();
    for (let i = 0; i < 3; i++) {
      expect(await c.command(`AUTH PLAIN ${b64('\0dave@example.test\0wrong')}`, /^\d{3} /)).toMatch(
        /^535 5\.7\.8 /,
      );
    }
    expect(await c.command(`AUTH PLAIN ${b64('\0dave@example.test\0dave-secret')}`, /^\d{3} /)).toMatch(
      /^454 4\.7\.0 /,
    );
    c.close();
    const r = await submit({
      secure: true,
      user: 'dave@example.test',
      pass: 'dave-secret',
      from: 'dave@example.test',
      to: ['x@remote.example'],
      body: message('dave@example.test', 'x@remote.example', 'locked'),
    });
    expect(r).toMatchObject({ ok: false });
    expect(r.response).toMatch(/^454 4\.7\.0 /);
    expect(await redis.pttl('postamt:auth:lock:account:dave@example.test')).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${intake.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/postamt_intake_auth_lockouts_total\{[^}]*scope="account"[^}]*\} 1/);
  });

  it('LOGIN exchange by hand: 334 challenges, * cancels', async () => {
    const c = await secured();
    expect(await c.command('AUTH LOGIN', /^\d{3} /)).toBe(`334 ${b64('Username:')}`);
    expect(await c.command(b64('alice@example.test'), /^\d{3} /)).toBe(`334 ${b64('Password:')}`);
    expect(await c.command('*', /^\d{3} /)).toMatch(/^501 5\.7\.0 /);
    c.send('AUTH LOGIN');
    await c.expect(/^334 /);
    await c.command(b64('alice@example.test'), /^334 /);
    expect(await c.command(b64('alice-secret'), /^\d{3} /)).toMatch(/^235 2\.7\.0 /);
    expect(await c.command('AUTH PLAIN', /^\d{3} /)).toMatch(/^503 5\.5\.1 /);
    c.close();
  });

  it('refuses sender spoofing (553 5.7.1) in MAIL FROM and in the From header', async () => {
    const c = await secured();
    await c.command(`AUTH PLAIN ${b64('\0alice@example.test\0alice-secret')}`, /^235 /);
    expect(await c.command('MAIL FROM:<carol@example.test>', /^\d{3} /)).toMatch(/^553 5\.7\.1 /);
    expect(await c.command('MAIL FROM:<ceo@bank.example>', /^\d{3} /)).toMatch(/^553 5\.7\.1 /);
    expect(await c.command('MAIL FROM:<>', /^\d{3} /)).toMatch(/^553 5\.7\.1 /);
    expect(await c.command('MAIL FROM:<sales@example.test>', /^\d{3} /)).toMatch(/^553 5\.7\.1 /);
    expect(await c.command('MAIL FROM:<alice@localhost>', /^\d{3} /)).toMatch(/^504 5\.5\.2 /);
    await c.command('MAIL FROM:<alice@example.test>', /^250 /);
    expect(await c.command('RCPT TO:<bob@no-fqdn>', /^\d{3} /)).toMatch(/^504 5\.5\.2 /);
    expect(await c.command('RCPT TO:<nobody@example.test>', /^\d{3} /)).toMatch(/^550 5\.1\.1 /);
    await c.command('RCPT TO:<bob@remote.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write(`${message('carol@example.test', 'bob@remote.example', 'spoofed header')}.\r\n`);
    expect(await c.expect(/^\d{3} /)).toMatch(/^553 5\.7\.1 From header/);
    // The session goes on: the same message with the user's own From is accepted.
    await c.command('MAIL FROM:<alice@example.test>', /^250 /);
    await c.command('RCPT TO:<bob@remote.example>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write(`${message('alice@example.test', 'bob@remote.example', 'own header')}.\r\n`);
    expect(await c.expect(/^\d{3} /)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    c.close();
  });

  it('an alias that reaches the user may be used as sender', async () => {
    const r = await submit({
      secure: true,
      user: 'alice@example.test',
      pass: 'alice-secret',
      from: 'postmaster@example.test',
      to: ['bob@remote.example'],
      body: message('postmaster@example.test', 'bob@remote.example', 'as alias'),
    });
    expect(r.ok).toBe(true);
    const carol = await submit({
      secure: true,
      user: 'carol@example.test',
      pass: 'carol-secret',
      from: 'sales@example.test',
      to: ['bob@remote.example'],
      body: message('sales@example.test', 'bob@remote.example', 'as shared alias'),
    });
    expect(carol.ok).toBe(true);
  });
});
