// SIGKILL in the middle of a delivery: one destination has accepted the
// message, the other has received it but not yet answered. After a restart the
// message must be delivered to the second without the first getting it again
// (at most the recipient in flight is sent twice), and the spool file removed.
import { connectRedis, Queues, type Redis, Spool } from '@postamt/queue';
import {
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  sleep,
  startDnsServer,
  startRedis,
  startService,
  type TestDnsServer,
  waitFor,
} from '@postamt/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findDsns, relayMessage } from './support/fixtures.js';
import { type Sink, startSink } from './support/smtp-sink.js';

let redis: RedisServer;
let dns: TestDnsServer;
let relay: ServiceProcess | undefined;
let producer: Redis;
let queues: Queues;
let spool: Spool;
let fast: Sink;
let slow: Sink;
let slowCalls = 0;

beforeAll(async () => {
  redis = await startRedis();
  dns = await startDnsServer();
  const dataDir = makeTempDir('relay-crash');
  spool = new Spool(dataDir);
  await spool.init();
  producer = connectRedis(redis.url, 'producer');
  queues = new Queues(producer);
  const port = await freePort();
  fast = await startSink({ host: '127.0.0.6', port });
  slow = await startSink({
    host: '127.0.0.7',
    port,
    data: () => (++slowCalls === 1 ? 'hang' : '250 2.0.0 Ok'),
  });
  dns.set('fast.test', [{ type: 'MX', exchange: 'mx.fast.test', priority: 10 }]);
  dns.host4('mx.fast.test', '127.0.0.6');
  dns.set('slow.test', [{ type: 'MX', exchange: 'mx.slow.test', priority: 10 }]);
  dns.host4('mx.slow.test', '127.0.0.7');
  relay = await startService('relay', {
    POSTAMT_DATA: dataDir,
    POSTAMT_REDIS_URL: redis.url,
    POSTAMT_DNS_SERVERS: dns.address,
    POSTAMT_HOSTNAME: 'relay.postamt.test',
    POSTAMT_RELAY_SMTP_PORT: String(port),
    POSTAMT_RELAY_TEST_ALLOW_NETWORKS: '127.0.0.0/8',
    POSTAMT_RELAY_RETRY_MIN: '300ms',
    POSTAMT_RELAY_RETRY_MAX: '1s',
    POSTAMT_RELAY_JOB_LOCK: '2s',
  });
});

afterAll(async () => {
  await relay?.stop();
  await queues?.close();
  producer?.disconnect();
  await fast?.close();
  await slow?.close();
  await dns?.stop();
  await redis?.stop();
});

it('loses nothing and re-sends only the in-flight recipient after SIGKILL', async () => {
  const id = await relayMessage(spool, queues, ['una@fast.test', 'vic@slow.test'], 'crash');
  await waitFor(
    'fast delivery and slow in flight',
    async () => fast.messages.length === 1 && slow.hung.length === 1,
  );
  await sleep(300); // the fast recipient's outcome is written right after its reply
  await relay?.kill();
  expect(await spool.exists(id)).toBe(true);
  relay = await relay?.restart();
  await waitFor('spool file removed', async () => !(await spool.exists(id)), 30_000);
  expect(fast.messages.map((m) => m.rcptTo)).toEqual([['una@fast.test']]);
  expect(slow.messages.map((m) => m.rcptTo)).toEqual([['vic@slow.test']]);
  expect(slow.hung).toHaveLength(1);
  expect(await findDsns(spool, id)).toEqual([]);
});
