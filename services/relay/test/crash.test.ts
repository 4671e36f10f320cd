// SIGKILL in the middle of a delivery: one destination has accepted the
// message, the other has received it but not yet answered. After a restart the
// message must be delivered to the second without the first getting it again
// (at most the recipient in flight is sent twice), and the spool file removed.
import type { Queues, Spool } from '@postamt/queue';
import { type ServiceProcess, sleep, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findDsns, relayMessage } from './support/fixtures.js';
import { type RelayEnv, startRelayEnv } from './support/relay-env.js';
import { type Sink, startSink } from './support/smtp-sink.js';

let env: RelayEnv;
let relay: ServiceProcess | undefined;
let queues: Queues;
let spool: Spool;
let fast: Sink;
let slow: Sink;
let slowCalls = 0;

beforeAll(async () => {
  env = await startRelayEnv('relay-crash');
  ({ queues, spool } = env);
  fast = await startSink({ host: '127.0.0.6', port: env.port });
  slow = await startSink({
    host: '127.0.0.7',
    port: env.port,
    data: () => (++slowCalls === 1 ? 'hang' : '250 2.0.0 Ok'),
  });
  env.mx('fast.test', '127.0.0.6');
  env.mx('slow.test', '127.0.0.7');
  relay = await env.startRelay({
    POSTAMT_RELAY_RETRY_MIN: '300ms',
    POSTAMT_RELAY_RETRY_MAX: '1s',
    POSTAMT_RELAY_JOB_LOCK: '2s',
  });
});

afterAll(async () => {
  await relay?.stop(); // the one restarted last
  await fast?.close();
  await slow?.close();
  await env?.stop();
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
