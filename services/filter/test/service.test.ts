// The filter as real processes (dist/main.js via startService) with real
// Redis, clamd and spamd: two workers share one queue, clamd stopped and
// restarted mid-run, per-user Bayes training through the learn queue, and a
// worker killed mid-job.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { connectRedis, Queues, type Redis, Spool } from '@postamt/queue';
import {
  type ClamdServer,
  EICAR,
  GTUBE,
  hamSample,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  type SpamdServer,
  sleep,
  spamSample,
  startClamd,
  startDnsServer,
  startRedis,
  startService,
  startSpamd,
  type TestDnsServer,
  textMessage,
  waitFor,
} from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesOf } from './env.js';

let redisServer: RedisServer;
let clamd: ClamdServer;
let spamd: SpamdServer;
let dns: TestDnsServer;
let redis: Redis;
let queues: Queues;
let spool: Spool;
let data: string;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  [redisServer, clamd, spamd, dns] = await Promise.all([
    startRedis(),
    startClamd(),
    startSpamd({ bayesMinLearned: 20, perUserBayes: true }),
    startDnsServer(),
  ]);
  redis = connectRedis(redisServer.url, 'worker');
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  for (const u of ['alice', 'bob']) await directory.putUser({ address: `${u}@example.test`, password: 'p' });
  data = makeTempDir('filter-svc');
  spool = new Spool(data);
  await spool.init();
  queues = new Queues(redis);
  const env = {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_CLAMD: clamd.address,
    POSTAMT_SPAMD: spamd.address,
    POSTAMT_DNS_SERVERS: dns.address,
    POSTAMT_HOSTNAME: 'mx.example.test',
    POSTAMT_SPAM_TAG2_LEVEL: '5',
    POSTAMT_SPAM_KILL_LEVEL: '50',
    POSTAMT_SCAN_CONNECT_TIMEOUT: '1s',
    POSTAMT_FILTER_CONCURRENCY: '2',
    POSTAMT_SPAMD_PER_USER: 'true',
  };
  workers.push(...(await Promise.all([startService('filter', env), startService('filter', env)])));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await queues?.close();
  redis?.disconnect();
  await Promise.all([redisServer?.stop(), clamd?.stop(), spamd?.stop(), dns?.stop()]);
});

async function submit(rcpts: string[], body: Buffer): Promise<string> {
  const id = await spool.put(
    {
      receivedAt: new Date().toISOString(),
      mailFrom: 'sender@example.org',
      rcptTo: rcpts.map((address) => ({ address })),
      source: 'mx',
      client: { ip: '192.0.2.1' },
      params: {},
    },
    body,
  );
  await queues.add('filter', id, { spoolId: id });
  return id;
}

async function allGone(ids: string[]): Promise<boolean> {
  for (const id of ids) if (await spool.exists(id)) return false;
  return true;
}

describe('filter service processes', () => {
  it('two workers on one queue: every message handled exactly once', async () => {
    const ham = Array.from({ length: 20 }, (_, i) => textMessage(`Hi, notes for the meeting number ${i}.\n`));
    const virus = Array.from({ length: 5 }, (_, i) => textMessage(`attachment ${i}\n${EICAR}\n`));
    const spam = Array.from({ length: 5 }, (_, i) => textMessage(`offer ${i}\n${GTUBE}\n`));
    const t0 = Date.now();
    const hamIds = await Promise.all(ham.map((m) => submit(['alice@example.test', 'bob@example.test'], m)));
    const virusIds = await Promise.all(virus.map((m) => submit(['alice@example.test'], m)));
    const spamIds = await Promise.all(spam.map((m) => submit(['bob@example.test'], m)));
    await waitFor(
      'all 30 messages filtered',
      () => allGone([...hamIds, ...virusIds, ...spamIds]),
      60_000,
      100,
    );
    console.log(`30 messages through 2 filter processes in ${Date.now() - t0} ms`);
    for (const id of hamIds) {
      expect(filesOf(data, 'alice', id)).toHaveLength(1);
      expect(filesOf(data, 'bob', id)).toHaveLength(1);
    }
    for (const id of virusIds) {
      expect(filesOf(data, 'alice', id)).toHaveLength(1); // the notice
      expect((filesOf(data, 'alice', id)[0] as Buffer).toString()).toContain('quarantined (virus found)');
    }
    for (const id of spamIds) {
      expect(filesOf(data, 'bob', id)).toHaveLength(0);
      expect(filesOf(data, 'bob', id, 'Junk')).toHaveLength(0); // 1000 ≥ kill level 50: quarantined
    }
    // Both processes took jobs.
    for (const w of workers) expect(w.log()).toMatch(/"msg":"verdict"/);
  });

  it('clamd stopped mid-run: nothing delivered unscanned; everything delivered after restart', async () => {
    await clamd.stop();
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit(['alice@example.test'], textMessage(`outage message ${i}`))),
    );
    await sleep(2_500);
    for (const id of ids) {
      expect(filesOf(data, 'alice', id)).toHaveLength(0);
      expect(await spool.exists(id)).toBe(true);
    }
    await clamd.restart();
    await waitFor('delivery after clamd restart', () => allGone(ids), 60_000, 200);
    for (const id of ids) expect(filesOf(data, 'alice', id)).toHaveLength(1);
  }, 90_000);

  it("bob's Bayes training through the learn queue moves an unseen spam to his Junk, not alice's", async () => {
    const before = await submit(['bob@example.test'], spamSample(1000));
    await waitFor('probe filtered', () => allGone([before]), 30_000, 100);
    expect(filesOf(data, 'bob', before)).toHaveLength(1);

    mkdirSync(join(data, 'train'), { recursive: true });
    for (let i = 0; i < 25; i++) {
      for (const [as, msg] of [
        ['spam', spamSample(i)],
        ['ham', hamSample(i)],
      ] as const) {
        const file = `train/${as}-${i}.eml`;
        writeFileSync(join(data, file), msg);
        await queues.add('learn', `learn-${as}-${i}`, { user: 'bob@example.test', file, as });
      }
    }
    const learnQueue = queues.get('learn');
    await waitFor(
      'learn queue drained',
      async () => {
        const c = await learnQueue.getJobCounts('wait', 'active', 'delayed', 'failed');
        return c.wait === 0 && c.active === 0 && c.delayed === 0 && c.failed === 0;
      },
      60_000,
      200,
    );
    const after = await submit(['bob@example.test'], spamSample(1001));
    await waitFor('second probe filtered', () => allGone([after]), 30_000, 100);
    const [junk] = filesOf(data, 'bob', after, 'Junk');
    expect(junk?.toString()).toMatch(/^X-Spam-Status: Yes, .*BAYES_99/ms);
    // Bayes is per user: alice's store learned nothing, so the same kind of spam stays below tag2 for her.
    const forAlice = await submit(['alice@example.test'], spamSample(1002));
    await waitFor('alice probe filtered', () => allGone([forAlice]), 30_000, 100);
    const [inbox] = filesOf(data, 'alice', forAlice);
    expect(inbox?.toString()).toMatch(/^X-Spam-Status: No, /m);
    expect(inbox?.toString()).not.toContain('BAYES_');
  }, 120_000);

  // Last, because it leaves one worker dead. BullMQ hands the killed worker's
  // jobs to the other once their lock expires (30 s), so this test is slow.
  it('a worker SIGKILLed mid-job: no duplicate, no loss', async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        submit(['alice@example.test', 'bob@example.test'], textMessage(`crash test ${i}`)),
      ),
    );
    const filterQueue = queues.get('filter');
    await waitFor('jobs active', async () => (await filterQueue.getActiveCount()) > 0, 10_000, 5);
    await (workers[0] as ServiceProcess).kill();
    await waitFor('all filtered after the crash', () => allGone(ids), 100_000, 250);
    for (const id of ids) {
      expect(filesOf(data, 'alice', id)).toHaveLength(1);
      expect(filesOf(data, 'bob', id)).toHaveLength(1);
    }
  }, 120_000);
});
