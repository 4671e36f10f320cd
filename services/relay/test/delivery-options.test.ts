// DSN parameters (RFC 3461), connection reuse and the per-destination limits,
// with the relay as a real process (and its limiter in process) on real Redis,
// the test DNS server and test SMTP servers: one that advertises DSN, one that
// does not (and defers `slow-*` recipients for ever), one for reuse.
import { connectRedis, type Queues, type Redis, type Spool } from '@postamt/queue';
import { sleep, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationLimiter } from '../src/limiter.js';
import { findDsns, relayMessage } from './support/fixtures.js';
import { type RelayEnv, startRelayEnv } from './support/relay-env.js';
import { type Sink, startSink } from './support/smtp-sink.js';

let env: RelayEnv;
let queues: Queues;
let spool: Spool;
let dsnSink: Sink;
let plainSink: Sink;
let reuseSink: Sink;

const gone = async (id: string) => !(await spool.exists(id));
const bySubject = (sink: Sink, subject: string) =>
  sink.messages.filter((m) => m.data.includes(`Subject: ${subject}\r\n`));

beforeAll(async () => {
  env = await startRelayEnv('relay-options');
  ({ queues, spool } = env);
  const rcpt = (addr: string) => {
    if (addr.startsWith('bad')) return '550 5.1.1 no such user';
    if (addr.startsWith('slow')) return '451 4.3.2 try again later';
    return '250 2.1.5 Ok';
  };
  dsnSink = await startSink({ host: '127.0.3.1', port: env.port, dsn: true, rcpt });
  plainSink = await startSink({ host: '127.0.3.2', port: env.port, rcpt });
  reuseSink = await startSink({ host: '127.0.3.3', port: env.port });
  env.mx('dsn.test', '127.0.3.1');
  env.mx('nodsn.test', '127.0.3.2');
  env.mx('reuse.test', '127.0.3.3');
  await env.startRelay({
    POSTAMT_RELAY_RETRY_MIN: '300ms',
    POSTAMT_RELAY_RETRY_MAX: '600ms',
    POSTAMT_RELAY_MAX_LIFETIME: '4s',
    POSTAMT_RELAY_DELAY_WARNING: '1s',
    // Long enough that consecutive test messages find the parked session.
    POSTAMT_RELAY_CONNECTION_REUSE: '30s',
    POSTAMT_RELAY_MTA_STS: 'false',
  });
});

afterAll(async () => {
  for (const s of [dsnSink, plainSink, reuseSink]) await s?.close();
  await env?.stop();
});

describe('DSN parameters (RFC 3461)', () => {
  it('passes RET, ENVID, NOTIFY and ORCPT on to a next hop that advertises DSN, and reports nothing itself', async () => {
    const id = await relayMessage(
      spool,
      queues,
      [
        { address: 'bob@dsn.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;Bob+x=y@old.test' },
        { address: 'carol@dsn.test', notify: ['NEVER'] },
        { address: 'dave@dsn.test' },
      ],
      'dsn passed on',
      { ret: 'HDRS', envid: 'ENV-42' },
    );
    await waitFor('spool file removed', () => gone(id), 15_000);
    const [m] = bySubject(dsnSink, 'dsn passed on');
    expect(m?.mailLine).toMatch(/^MAIL FROM:<alice@local\.test>.* RET=HDRS ENVID=ENV-42$/);
    expect(m?.rcptLines).toEqual([
      'RCPT TO:<bob@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx+3Dy@old.test',
      'RCPT TO:<carol@dsn.test> NOTIFY=NEVER',
      'RCPT TO:<dave@dsn.test>',
    ]);
    // The next hop took NOTIFY=SUCCESS: the success report is its job (RFC 3461 §6.2.2).
    expect(await findDsns(spool, id)).toEqual([]);
  });

  it('to a next hop without DSN: no parameters on the wire; SUCCESS gets a "relayed" DSN from us', async () => {
    const id = await relayMessage(
      spool,
      queues,
      [
        { address: 'erin@nodsn.test', notify: ['SUCCESS'], orcpt: 'rfc822;erin@old.test' },
        { address: 'frank@nodsn.test', notify: ['FAILURE'] },
        { address: 'gina@nodsn.test' },
      ],
      'dsn relayed',
      { envid: 'ENV-43' },
    );
    await waitFor('spool file removed', () => gone(id), 15_000);
    const [m] = bySubject(plainSink, 'dsn relayed');
    expect(m?.mailLine).not.toMatch(/RET=|ENVID=/);
    expect(m?.rcptLines.join('\n')).not.toMatch(/NOTIFY=|ORCPT=/);
    const dsns = await findDsns(spool, id);
    expect(dsns).toHaveLength(1);
    const text = dsns[0]?.text ?? '';
    expect(text).toMatch(/Subject: Successful Mail Delivery Report/);
    expect(text).toMatch(/Original-Envelope-Id: ENV-43/);
    expect(text).toMatch(
      /Original-Recipient: rfc822;erin@old.test\r\nFinal-Recipient: rfc822; erin@nodsn.test\r\nAction: relayed\r\nStatus: 2\.0\.0/,
    );
    expect(text).not.toMatch(/frank@nodsn|gina@nodsn/);
  });

  it('NOTIFY=NEVER gets no bounce, FAILURE (and no NOTIFY) do', async () => {
    const id = await relayMessage(
      spool,
      queues,
      [
        { address: 'bad-never@nodsn.test', notify: ['NEVER'] },
        { address: 'bad-failure@nodsn.test', notify: ['FAILURE'] },
        { address: 'bad-default@nodsn.test' },
      ],
      'dsn failures',
    );
    await waitFor('spool file removed', () => gone(id), 15_000);
    const dsns = await findDsns(spool, id);
    expect(dsns).toHaveLength(1);
    const text = dsns[0]?.text ?? '';
    expect(text).toMatch(
      /Final-Recipient: rfc822; bad-failure@nodsn.test\r\nAction: failed\r\nStatus: 5\.1\.1/,
    );
    expect(text).toMatch(/Final-Recipient: rfc822; bad-default@nodsn.test\r\nAction: failed/);
    expect(text).not.toMatch(/bad-never/);
  });

  it('sends one delay warning to recipients whose NOTIFY asks for DELAY (or is absent), then the bounce', async () => {
    const id = await relayMessage(
      spool,
      queues,
      [
        { address: 'slow-delay@nodsn.test', notify: ['DELAY', 'FAILURE'] },
        { address: 'slow-failure@nodsn.test', notify: ['FAILURE'] },
        { address: 'slow-default@nodsn.test' },
      ],
      'dsn delay',
    );
    await waitFor('spool file removed', () => gone(id), 30_000);
    const dsns = (await findDsns(spool, id)).map((d) => d.text);
    const delayed = dsns.filter((t) => /Action: delayed/.test(t));
    const failed = dsns.filter((t) => /Action: failed/.test(t));
    expect(delayed).toHaveLength(1);
    expect(delayed[0]).toMatch(
      /Final-Recipient: rfc822; slow-delay@nodsn.test\r\nAction: delayed\r\nStatus: 4\.3\.2/,
    );
    expect(delayed[0]).toMatch(/Final-Recipient: rfc822; slow-default@nodsn.test\r\nAction: delayed/);
    expect(delayed[0]).toMatch(/Will-Retry-Until: /);
    expect(delayed[0]).not.toMatch(/slow-failure/);
    expect(failed).toHaveLength(1);
    for (const r of ['slow-delay', 'slow-failure', 'slow-default'])
      expect(failed[0]).toContain(`${r}@nodsn.test`);
  });
});

describe('connection reuse', () => {
  it('consecutive messages to one destination share one connection, with RSET between them', async () => {
    const before = reuseSink.connections;
    for (const n of [1, 2, 3]) {
      const id = await relayMessage(spool, queues, [`r${n}a@reuse.test`, `r${n}b@reuse.test`], `reuse ${n}`);
      await waitFor('spool file removed', () => gone(id), 15_000);
    }
    const got = [1, 2, 3].map((n) => bySubject(reuseSink, `reuse ${n}`));
    // Each message is one transaction carrying both recipients...
    expect(got.map((g) => g.map((m) => m.rcptTo))).toEqual(
      [1, 2, 3].map((n) => [[`r${n}a@reuse.test`, `r${n}b@reuse.test`]]),
    );
    // ...and all three went over the same connection.
    expect(reuseSink.connections - before).toBe(1);
    expect(new Set(got.map((g) => g[0]?.conn)).size).toBe(1);
    expect(reuseSink.rsets).toBeGreaterThanOrEqual(2);
  });
});

describe('per-destination limits in Redis, shared by replicas', () => {
  let a: Redis;
  let b: Redis;
  let subA: Redis;
  let subB: Redis;
  beforeAll(async () => {
    a = connectRedis(env.redis.url, 'producer');
    b = connectRedis(env.redis.url, 'producer');
    subA = connectRedis(env.redis.url, 'worker');
    subB = connectRedis(env.redis.url, 'worker');
    await waitFor('redis clients ready', async () => a.status === 'ready' && b.status === 'ready');
  });
  afterAll(() => {
    for (const c of [a, b, subA, subB]) c?.disconnect();
  });

  it('two replicas never exceed the concurrency limit of a destination together', async () => {
    for (const limit of [1, 2]) {
      const opts = { concurrency: limit, ratePerSecond: 0, burst: 1, leaseMs: 10_000 };
      // Each replica hears the other's releases on its subscriber connection.
      const replicas = [new DestinationLimiter(a, opts, subA), new DestinationLimiter(b, opts, subB)];
      let active = 0;
      let peak = 0;
      const task = async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(30);
        active--;
      };
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (replicas[i % 2] as DestinationLimiter).run(`dest-${limit}`, task),
        ),
      );
      expect(peak).toBeLessThanOrEqual(limit);
      expect(peak).toBeGreaterThanOrEqual(1);
      expect(await a.zcard(`relay:limit:slots:dest-${limit}`)).toBe(0);
    }
  });

  it("a crashed replica's lease lapses, so the destination is not blocked for ever", async () => {
    const [sec] = await a.time();
    // What a replica killed mid-delivery leaves behind: a lease expiring in 300 ms.
    await a.zadd('relay:limit:slots:crashed', Number(sec) * 1000 + 300, 'dead-replica');
    const limiter = new DestinationLimiter(b, {
      concurrency: 1,
      ratePerSecond: 0,
      burst: 1,
      leaseMs: 10_000,
    });
    expect(await limiter.run('crashed', async () => 'ran')).toBe('ran');
  });

  it('the rate bucket is shared: a burst of 2 is spent by both replicas together', async () => {
    const opts = { concurrency: 10, ratePerSecond: 1 / 60, burst: 2, leaseMs: 10_000 };
    const [ra, rb] = [new DestinationLimiter(a, opts), new DestinationLimiter(b, opts)];
    expect(await ra.tryToken('rated')).toBe(0);
    expect(await rb.tryToken('rated')).toBe(0);
    expect(await ra.tryToken('rated')).toBeGreaterThan(0);
    expect(await rb.tryToken('rated')).toBeGreaterThan(0);
  });
});
