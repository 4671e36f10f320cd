// The filter as real processes (dist/main.js via startService) with real
// Redis, clamd and spamd: two workers share one queue, clamd stopped and
// restarted mid-run, per-user Bayes with a site-wide prior trained through
// the learn queue, and a worker killed mid-job.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  for (const u of ['alice', 'bob', 'carol'])
    await directory.putUser({ address: `${u}@example.test`, password: 'p' });
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
    POSTAMT_BAYES_MIN_SPAM: '20',
    POSTAMT_BAYES_MIN_HAM: '20',
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

/** 25 learn jobs of each pair for one user, through the learn queue, until it is drained. */
async function train(user: string, pairs: (i: number) => Array<readonly ['spam' | 'ham', Buffer]>) {
  mkdirSync(join(data, 'train'), { recursive: true });
  for (let i = 0; i < 25; i++) {
    for (const [as, msg] of pairs(i)) {
      const file = `train/${user}-${as}-${i}.eml`;
      writeFileSync(join(data, file), msg);
      await queues.add('learn', `learn-${user}-${as}-${i}`, { user: `${user}@example.test`, file, as });
    }
  }
  const learnQueue = queues.get('learn');
  await waitFor(
    `learn queue drained (${user})`,
    async () => {
      const c = await learnQueue.getJobCounts('wait', 'active', 'delayed', 'failed');
      return c.wait === 0 && c.active === 0 && c.delayed === 0 && c.failed === 0;
    },
    120_000,
    200,
  );
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

  // Per-user Bayes with a site-wide prior (spam-user.ts). spamd here needs 20
  // spam and 20 ham in a store before it uses it, and the workers know that.
  it('Bayes via the learn queue: the trained user scores with their store, untrained users with the site prior', async () => {
    const probe = async (user: string, n: number) => {
      const id = await submit([`${user}@example.test`], spamSample(n));
      await waitFor(`probe ${n} for ${user} filtered`, () => allGone([id]), 30_000, 100);
      const [inbox] = filesOf(data, user, id);
      const [junk] = filesOf(data, user, id, 'Junk');
      return { inbox: inbox?.toString(), junk: junk?.toString() };
    };
    const before = await probe('bob', 1000);
    expect(before.inbox).toMatch(/^X-Spam-Status: No, /m);
    expect(before.inbox).not.toContain('BAYES_');

    await train('bob', (i) => [
      ['spam', spamSample(i)],
      ['ham', hamSample(i)],
    ]);
    // Told to bob's own store and to the site store (spamd --virtual-config-dir=<home>/%u).
    for (const store of ['bob@example.test', 'postamt-site'])
      expect(existsSync(join(spamd.dir, 'home', store, 'bayes_toks'))).toBe(true);
    expect((await probe('bob', 1001)).junk).toMatch(/^X-Spam-Status: Yes, .*BAYES_99/ms);
    // alice trained nothing: her mail is scored with the site store, which learned from bob.
    expect((await probe('alice', 1002)).junk).toMatch(/^X-Spam-Status: Yes, .*BAYES_99/ms);
    expect(existsSync(join(spamd.dir, 'home', 'alice@example.test', 'bayes_toks'))).toBe(false);

    // carol teaches the opposite. Her own store then scores her mail, and bob's
    // is untouched: one user cannot poison another trained user's filter.
    await train('carol', (i) => [
      ['ham', spamSample(300 + i)],
      ['spam', hamSample(300 + i)],
    ]);
    const forCarol = await probe('carol', 1003);
    expect(forCarol.inbox).toMatch(/^X-Spam-Status: No, .*BAYES_00/ms);
    expect((await probe('bob', 1004)).junk).toMatch(/^X-Spam-Status: Yes, .*BAYES_99/ms);
    // The CHECKs carried the User: header (spamd logs the user whose config it loads).
    const spamdLog = readFileSync(join(spamd.dir, 'spamd.log'), 'utf8');
    expect(spamdLog).toContain('using default config for carol@example.test');
    expect(spamdLog).toContain('using default config for postamt-site');
  }, 300_000);

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
