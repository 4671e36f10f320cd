// Per-client limits shared by two intake processes through one Redis, their
// fall-back to per-process counts when Redis is down, and the warning about a
// NATed deployment (every client from one private address). Clients are given
// distinct addresses with PROXY protocol headers, as a load balancer would.
import { Socket } from 'node:net';
import { proxyV2Header } from '@postamt/smtp-server';
import { LineClient, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Env, type Intake, startEnv, startIntake } from './helpers.js';

let env: Env;

beforeAll(async () => {
  env = await startEnv();
});

afterAll(async () => {
  env.redis.disconnect();
  await env.redisServer.stop();
});

async function viaProxy(port: number, ip: string): Promise<LineClient> {
  const c = await LineClient.connect(port);
  c.write(proxyV2Header({ address: ip, port: 40000 }, { address: '127.0.0.1', port }));
  return c;
}

/** A greeted session from `ip` that has said EHLO. */
async function session(port: number, ip: string): Promise<LineClient> {
  const c = await viaProxy(port, ip);
  await c.expect(/^220 /);
  await c.command('EHLO client.example.org', /^250 /);
  return c;
}

const mail = (c: LineClient) => c.command('MAIL FROM:<bob@example.org>', /^\d{3} /);

describe('per-client limits shared by two intake processes', () => {
  let a: Intake;
  let b: Intake;
  beforeAll(async () => {
    const vars = {
      POSTAMT_PROXY_PROTOCOL: 'on',
      POSTAMT_MYNETWORKS: '198.51.100.0/24',
      POSTAMT_CHECK_HELO: 'off',
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_SMTP_PREGREET_WAIT: '0s',
      POSTAMT_SMTP_LIMIT_EXCEPTIONS: '::1/128',
      POSTAMT_SMTP_CLIENT_CONNECTION_RATE_LIMIT: '6',
      POSTAMT_SMTP_CLIENT_MESSAGE_RATE_LIMIT: '3',
      POSTAMT_SMTP_CLIENT_RECIPIENT_RATE_LIMIT: '5',
      // Windows are aligned to the clock: a day-long one does not end during the test.
      POSTAMT_SMTP_CLIENT_RATE_WINDOW: '1d',
    };
    [a, b] = await Promise.all([startIntake(env, vars), startIntake(env, vars)]);
  });
  afterAll(async () => {
    await Promise.all([a.proc.stop(), b.proc.stop()]);
  });

  it('counts messages across both processes', async () => {
    const onA = await session(a.port, '198.51.100.60');
    const onB = await session(b.port, '198.51.100.60');
    for (const c of [onA, onA, onB]) {
      expect(await mail(c)).toMatch(/^250 /);
      await c.command('RSET', /^250 /);
    }
    expect(await mail(onB)).toMatch(/^450 4\.7\.1 .*too many messages/);
    expect(await mail(onA)).toMatch(/^450 4\.7\.1 .*too many messages/);
    // Another client has its own count.
    const other = await session(b.port, '198.51.100.70');
    expect(await mail(other)).toMatch(/^250 /);
    for (const c of [onA, onB, other]) c.close();
  });

  it('counts recipients across both processes', async () => {
    const onA = await session(a.port, '198.51.100.61');
    const onB = await session(b.port, '198.51.100.61');
    await mail(onA);
    await mail(onB);
    for (const c of [onA, onA, onA, onB, onB]) await c.command('RCPT TO:<alice@example.test>', /^250 /);
    expect(await onB.command('RCPT TO:<alice@example.test>', /^\d{3} /)).toMatch(
      /^450 4\.7\.1 .*too many recipients/,
    );
    expect(await onA.command('RCPT TO:<alice@example.test>', /^\d{3} /)).toMatch(/^450 4\.7\.1 /);
    onA.close();
    onB.close();
  });

  it('counts new connections across both processes', async () => {
    const open: LineClient[] = [];
    for (const port of [a.port, b.port, a.port, b.port, a.port, b.port]) {
      const c = await viaProxy(port, '198.51.100.62');
      expect(await c.expect(/^\d{3} /)).toMatch(/^220 /);
      c.send('QUIT');
      open.push(c);
    }
    const seventh = await viaProxy(a.port, '198.51.100.62');
    expect(await seventh.expect(/^\d{3} /)).toMatch(/^421 4\.7\.0 .*too many connections/);
    for (const c of [...open, seventh]) c.close();
  });

  it('falls back to per-process counts while Redis is down, and says so', async () => {
    await env.redisServer.kill();
    try {
      const onA = await session(a.port, '198.51.100.63');
      const onB = await session(b.port, '198.51.100.63');
      // Each process now allows the full rate on its own.
      for (const c of [onA, onB]) {
        for (let i = 0; i < 3; i++) {
          expect(await mail(c)).toMatch(/^250 /);
          await c.command('RSET', /^250 /);
        }
        expect(await mail(c)).toMatch(/^450 4\.7\.1 .*too many messages/);
      }
      onA.close();
      onB.close();
      expect(a.proc.log()).toMatch(/client rate limits cannot reach Redis: counting per process/);
    } finally {
      await env.redisServer.restart();
    }
  });
});

describe('NAT warning', () => {
  let intake: Intake;
  beforeAll(async () => {
    intake = await startIntake(env, {
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_SMTP_PREGREET_WAIT: '0s',
      POSTAMT_SMTP_GATEWAY_WARN_AFTER: '3',
      // The tests' clients come from loopback; stand-in for a Docker bridge gateway.
      POSTAMT_SMTP_GATEWAY_NETWORKS: '127.0.0.0/8',
    });
  });
  afterAll(() => intake.proc.stop());

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${intake.proc.metricsPort}/readyz`);
    return { status: res.status, body: (await res.json()) as { warnings?: { clients?: string } } };
  };

  async function connectFrom(localAddress: string): Promise<void> {
    const s = new Socket();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.once('data', () => resolve());
      s.connect({ port: intake.port, host: '127.0.0.1', localAddress });
    });
    s.end('QUIT\r\n');
  }

  it('warns in the log and in /readyz, without failing readiness, and clears when clients differ', async () => {
    expect((await readyz()).body.warnings).toBeUndefined();
    for (let i = 0; i < 3; i++) await connectFrom('127.0.0.1');
    await waitFor('the gateway warning', async () => (await readyz()).body.warnings !== undefined, 5000);
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.warnings?.clients).toMatch(/all came from 127\.0\.0\.1 .*NAT/);
    expect(intake.proc.log()).toMatch(/WARNING: the last 3 SMTP clients all came from 127\.0\.0\.1/);

    await connectFrom('127.0.0.2');
    await waitFor('the warning to clear', async () => (await readyz()).body.warnings === undefined, 5000);
  });
});
