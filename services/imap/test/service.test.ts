// Two real IMAP processes (dist/main.js, wired as in production) on one data
// volume and one Redis: mail delivered by a third process (as the filter
// does: deliver, then a 'new' event) reaches an IDLE client of either at once,
// a flag change in one process reaches sessions of the other, MOVE into
// Junk queues a learn job, and mail that came with no event reaches an IDLE
// client by the poll POSTAMT_IMAP_IDLE_POLL sets.
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { deliver, publishMailEvent } from '@postamt/maildir';
import { connectRedis, Queues, type Redis } from '@postamt/queue';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let redisServer: RedisServer;
let redis: Redis;
let data: string;
const procs: ServiceProcess[] = [];
const ports: number[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  redis = connectRedis(redisServer.url, 'worker');
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'secret' });
  data = makeTempDir('imap-svc');
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.push(port);
    procs.push(
      await startService('imap', {
        POSTAMT_DATA: data,
        POSTAMT_REDIS_URL: redisServer.url,
        POSTAMT_HOSTNAME: 'imap.example.test',
        POSTAMT_IMAP_PORT: String(port),
        POSTAMT_IMAPS_PORT: String(await freePort()),
        // The first process polls idle folders every second (default 30 s).
        ...(i === 0 ? { POSTAMT_IMAP_IDLE_POLL: '1s' } : {}),
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  redis?.disconnect();
  await redisServer?.stop();
});

/** Delivers a small message to alice's INBOX as the filter would, without the mail event. */
function deliverToAlice(deliveryKey: string, time: number, subject: string) {
  return deliver({
    dir: join(data, 'mail', 'example.test', 'alice'),
    deliveryKey,
    time,
    host: 'mx.example.test',
    source: Buffer.from(`From: x@example.net\r\nSubject: ${subject}\r\n\r\nbody\r\n`),
  });
}

async function login(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.expect(/^\* OK/);
  await c.command('a LOGIN alice@example.test secret', /^a OK/);
  await c.command('s SELECT INBOX', /^s OK/);
  return c;
}

describe('imap service processes', () => {
  it('share news through Redis events and queue learn jobs', async () => {
    const [a, b] = [await login(ports[0] as number), await login(ports[1] as number)];
    a.send('i IDLE');
    await a.expect(/^\+ idling/);
    await deliverToAlice('svc1', 1_700_000_000, 'hi');
    await publishMailEvent(redis, 'alice@example.test', { type: 'new', folder: 'INBOX' });
    await a.expect(/^\* 1 EXISTS/);
    await b.command('n NOOP', /^\* 1 EXISTS/);
    await b.command('f STORE 1 +FLAGS.SILENT (\\Flagged)', /^f OK/);
    await a.expect(/^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)/);
    a.send('DONE');
    await a.expect(/^i OK/);
    await b.command('m MOVE 1 Junk', /^\* 1 EXPUNGE/);
    await a.command('n NOOP', /^\* 1 EXPUNGE/);
    const queues = new Queues(redis);
    await waitFor(
      'learn job',
      async () => (await queues.get('learn').getJobCounts('waiting')).waiting === 1,
      5000,
    );
    const [job] = await queues.get('learn').getJobs(['waiting']);
    expect(job?.data).toMatchObject({ user: 'alice@example.test', as: 'spam' });
    expect(job?.data.file).toMatch(/^mail\/example\.test\/alice\/\.Junk\/cur\//);
    await queues.close();
    a.close();
    b.close();
  });

  it('polls an IDLE client’s folder as often as POSTAMT_IMAP_IDLE_POLL says: mail with no event still arrives', async () => {
    const a = await login(ports[0] as number);
    a.send('i IDLE');
    await a.expect(/^\+ idling/);
    // Written by another program, no Redis event: only the poll can find it.
    await deliverToAlice('svc-quiet', 1_700_000_100, 'unannounced');
    await a.expect(/^\* 1 EXISTS/);
    a.send('DONE');
    await a.expect(/^i OK/);
    a.close();
  });
});
