// Intake as a real process, a real redis-server, and real SMTP clients
// (nodemailer's SMTPConnection and a raw scripted socket).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { connectRedis, newSpoolId, type Redis, Spool } from '@postamt/queue';
import {
  freePort,
  LineClient,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  startRedis,
  startService,
  waitFor,
} from '@postamt/testkit';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let redisServer: RedisServer;
let redis: Redis;
let data: string;
let intake: ServiceProcess;
let smtpPort: number;

async function startIntake(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  return startService('intake', {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    POSTAMT_SMTP_PORT: String(smtpPort),
    POSTAMT_MAX_MESSAGE_SIZE: '64KB',
    // The submission listeners have their own tests (submission.test.ts).
    POSTAMT_SUBMISSION_PORT: 'off',
    POSTAMT_SUBMISSIONS_PORT: 'off',
    // These tests are about acceptance, not the inbound checks (policy.test.ts):
    // the loopback client is trusted, so no check needs DNS.
    POSTAMT_MYNETWORKS: '127.0.0.0/8',
    ...extra,
  });
}

function spoolFiles(): string[] {
  return readdirSync(join(data, 'spool')).filter((n) => n.endsWith('.msg'));
}

function tmpFiles(): string[] {
  return readdirSync(join(data, 'spool/tmp'));
}

async function filterJobIds(): Promise<string[]> {
  const keys = await redis.keys('bull:filter:*');
  return keys.map((k) => k.slice('bull:filter:'.length)).filter((k) => /^[0-9A-Z]{26}$/.test(k));
}

interface SendResult {
  ok: boolean;
  response: string;
}

/** Sends one message with nodemailer's SMTP client; resolves to the server's final reply. */
async function send(from: string, to: string[], body: string): Promise<SendResult> {
  const conn = new SMTPConnection({
    port: smtpPort,
    host: '127.0.0.1',
    name: 'client.example.org',
    ignoreTLS: true,
  });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  try {
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send({ from, to }, body, (err, i) => (err ? reject(err) : resolve(i as { response: string }))),
    );
    return { ok: true, response: info.response };
  } catch (err) {
    const e = err as { response?: string; message: string };
    return { ok: false, response: e.response ?? e.message };
  } finally {
    conn.quit();
  }
}

beforeAll(async () => {
  redisServer = await startRedis();
  redis = connectRedis(redisServer.url, 'worker');
  redis.on('error', () => {});
  const dir = new Directory(redis);
  await dir.addDomain('example.test');
  await dir.putUser({ address: 'alice@example.test', password: 'secret' });
  await dir.putAlias('postmaster@example.test', ['alice@example.test']);
});

afterAll(async () => {
  redis.disconnect();
  await redisServer.stop();
});

beforeEach(async () => {
  data = makeTempDir('intake-data');
  smtpPort = await freePort();
  const jobs = await redis.keys('bull:*');
  if (jobs.length) await redis.del(...jobs);
  intake = await startIntake();
});

afterEach(async () => {
  await intake.stop();
});

const MESSAGE = 'From: bob@example.org\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nHello Alice.\r\n';

function queueId(response: string): string {
  const id = /queued as ([0-9A-Z]{26})/.exec(response)?.[1];
  if (!id) throw new Error(`no queue id in ${response}`);
  return id;
}

describe('intake: acceptance', () => {
  it('answers 250 with the queue id only once the message is spooled and queued', async () => {
    const r = await send('bob@example.org', ['alice@example.test'], MESSAGE);
    expect(r.ok).toBe(true);
    const id = queueId(r.response);
    expect(spoolFiles()).toEqual([`${id}.msg`]);
    expect(await filterJobIds()).toContain(id);
    const entry = await new Spool(data).openMessage(id);
    expect(entry.envelope.mailFrom).toBe('bob@example.org');
    expect(entry.envelope.rcptTo).toEqual([{ address: 'alice@example.test' }]);
    const chunks: Buffer[] = [];
    for await (const c of entry.stream()) chunks.push(c as Buffer);
    const stored = Buffer.concat(chunks).toString();
    expect(stored).toMatch(
      /^Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)\r\n\tby mx\.postamt\.test \(Postamt\) with ESMTP id [0-9A-Z]{26}\r\n\tfor <alice@example\.test>;/,
    );
    expect(stored.endsWith(MESSAGE)).toBe(true);
  });

  it('accepts aliases and refuses unknown users and relaying', async () => {
    expect((await send('bob@example.org', ['postmaster@example.test'], MESSAGE)).ok).toBe(true);
    const unknown = await send('bob@example.org', ['nobody@example.test'], MESSAGE);
    expect(unknown.ok).toBe(false);
    expect(unknown.response).toMatch(/^550 5\.1\.1 /);
    const relay = await send('bob@example.org', ['someone@elsewhere.example'], MESSAGE);
    expect(relay.ok).toBe(false);
    expect(relay.response).toMatch(/^554 5\.7\.1 /);
  });

  it('refuses a message over the size limit and keeps nothing', async () => {
    const big = `Subject: big\r\n\r\n${`${'x'.repeat(998)}\r\n`.repeat(80)}`;
    const r = await send('bob@example.org', ['alice@example.test'], big);
    expect(r.ok).toBe(false);
    expect(r.response).toMatch(/^552 /);
    expect(spoolFiles()).toEqual([]);
    expect(tmpFiles()).toEqual([]);
  });
});

describe('intake: nothing lost, nothing half-kept', () => {
  it("SIGKILL mid-transfer leaves no spool file and no job; the next start removes a dead writer's partial file", async () => {
    const c = await LineClient.connect(smtpPort);
    await c.expect(/^220 /);
    c.send('EHLO client.example.org');
    await c.expect(/^250 /);
    await c.command('MAIL FROM:<bob@example.org>', /^250 /);
    await c.command('RCPT TO:<alice@example.test>', /^250 /);
    await c.command('DATA', /^354 /);
    c.write(`Subject: partial\r\n\r\n${'half a message\r\n'.repeat(3000)}`);
    // A message under the write batch has no file before its commit; a larger one
    // streamed into tmp/ when its writer died is left there under the writer's pid.
    const pid = intake.child.pid as number;
    const partial = join(
      data,
      'spool/tmp',
      `${newSpoolId()}.${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${pid}`,
    );
    writeFileSync(partial, 'POSTAMT-SPOOL/1 2\n{}\nhalf');
    await intake.kill();
    c.close();
    expect(spoolFiles()).toEqual([]);
    expect(await filterJobIds()).toEqual([]);
    intake = await intake.restart();
    expect(tmpFiles()).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });

  it('SIGKILL right after 250 loses nothing: the spool file and its job are there', async () => {
    const r = await send('bob@example.org', ['alice@example.test'], MESSAGE);
    const id = queueId(r.response);
    await intake.kill();
    expect(spoolFiles()).toEqual([`${id}.msg`]);
    expect(await filterJobIds()).toEqual([id]);
  });

  it('re-queues a spooled message whose job Redis lost, at the next start', async () => {
    const r = await send('bob@example.org', ['alice@example.test'], MESSAGE);
    const id = queueId(r.response);
    await intake.kill();
    // Simulate the last second of writes lost by an append-only `everysec` Redis.
    await redis.del(...(await redis.keys('bull:filter:*')));
    expect(await filterJobIds()).toEqual([]);
    intake = await startIntake({ POSTAMT_SWEEP_MIN_AGE: '0s' });
    // The sweep runs beside the listeners, so it may finish just after /readyz says ready.
    await waitFor('the sweep', async () => /spool sweep re-queued/.test(intake.log()));
    expect(await filterJobIds()).toEqual([id]);
  });

  it('answers 451 and keeps nothing when Redis is down, and recovers when it is back', async () => {
    await redisServer.kill();
    try {
      const r = await send('bob@example.org', ['alice@example.test'], MESSAGE);
      expect(r.ok).toBe(false);
      expect(r.response).toMatch(/^451 4\.3\.0 /);
      expect(spoolFiles()).toEqual([]);
      expect(tmpFiles()).toEqual([]);
    } finally {
      await redisServer.restart();
    }
    await waitFor('redis client reconnected', async () => (await redis.ping()) === 'PONG');
    await waitFor(
      'intake ready again',
      async () => (await fetch(`http://127.0.0.1:${intake.metricsPort}/readyz`)).status === 200,
    );
    const again = await send('bob@example.org', ['alice@example.test'], MESSAGE);
    expect(again.ok).toBe(true);
  });
});

describe('intake: configuration and operations', () => {
  it('refuses to start on a bad value and names every bad key', async () => {
    const start = startIntake({ POSTAMT_SMTP_PORT: 'twenty-five', POSTAMT_CLAMD: 'nowhere' });
    await expect(start).rejects.toThrow(/exited with 78/);
    const message = await start.catch((err: Error) => err.message);
    expect(message).toMatch(/POSTAMT_SMTP_PORT: got "twenty-five", expected a TCP port number/);
    expect(message).toMatch(/POSTAMT_CLAMD: got "nowhere", expected host:port/);
  });

  it('applies the POSTAMT_SEED file at start, before Redis is even connected', async () => {
    const seed = join(makeTempDir('seed'), 'seed.yaml');
    writeFileSync(
      seed,
      'domains: [seeded.test]\nusers:\n  - address: carol@seeded.test\n    password: "from the seed"\n',
    );
    const seeded = await startService('intake', {
      POSTAMT_DATA: makeTempDir('intake-seed'),
      POSTAMT_REDIS_URL: redisServer.url,
      POSTAMT_HOSTNAME: 'mx.postamt.test',
      POSTAMT_SMTP_PORT: String(await freePort()),
      POSTAMT_SEED: seed,
    });
    try {
      expect(seeded.log()).toMatch(/seed applied/);
      expect(await new Directory(redis).authenticate('carol@seeded.test', 'from the seed')).not.toBeNull();
    } finally {
      await seeded.stop();
    }
  });

  it('reports health, readiness and metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${intake.metricsPort}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${intake.metricsPort}/readyz`);
    expect(await ready.json()).toEqual({ ready: true, checks: { redis: 'ok' } });
    expect(await (await fetch(`http://127.0.0.1:${intake.metricsPort}/metrics`)).text()).toMatch(
      /postamt_process_cpu/,
    );
    expect(existsSync(join(data, 'spool'))).toBe(true);
    expect(readFileSync(intake.logFile, 'utf8')).toMatch(/listening/);
  });
});
