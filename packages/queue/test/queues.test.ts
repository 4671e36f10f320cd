import { statSync, truncateSync } from 'node:fs';
import { makeTempDir, type RedisServer, startRedis } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, Queues, type Redis, Spool, spoolIdTime, sweepSpool } from '../src/index.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, 'worker');
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const envelope = {
  receivedAt: new Date().toISOString(),
  mailFrom: '',
  rcptTo: [{ address: 'alice@example.test' }],
  source: 'mx' as const,
  client: { ip: '192.0.2.1' },
  params: {},
};

describe('queues', () => {
  it('validates payloads against the catalog and is idempotent per job id', async () => {
    const queues = new Queues(redis);
    await queues.add('filter', 'ID1', { spoolId: 'ID1' });
    await queues.add('filter', 'ID1', { spoolId: 'ID1' });
    expect(await queues.get('filter').getJobCounts('waiting')).toEqual({ waiting: 1 });
    // @ts-expect-error: a payload that does not match the schema
    await expect(queues.add('relay', 'ID2', { spoolId: 'ID2' })).rejects.toThrow();
    await queues.close();
  });

  it('sweep re-queues spool files that have no job, and only old enough ones', async () => {
    const queues = new Queues(redis);
    const spool = new Spool(makeTempDir('sweep'));
    await spool.init();
    const orphan = await spool.put(envelope, Buffer.from('lost job'));
    const queued = await spool.put(envelope, Buffer.from('has job'));
    await queues.add('filter', queued, { spoolId: queued });
    expect((await sweepSpool(spool, queues, { minAgeMs: 60_000 })).requeued).toEqual([]);
    const result = await sweepSpool(spool, queues, { minAgeMs: 0 });
    expect(result.requeued).toEqual([orphan]);
    expect(await queues.has('filter', orphan)).toBe(true);
    expect(spoolIdTime(orphan)).toBeLessThanOrEqual(Date.now());
    expect((await sweepSpool(spool, queues, { minAgeMs: 0 })).requeued).toEqual([]);
    await queues.close();
  });

  it('sweep removes a spool file torn by a crash in its one synced write instead of queueing it', async () => {
    const queues = new Queues(redis);
    const spool = new Spool(makeTempDir('sweep-torn'), { commitInPlace: true });
    await spool.init();
    const whole = await spool.put(envelope, Buffer.from('whole message'));
    const torn = await spool.put(envelope, Buffer.from('torn message'));
    const path = spool.pathOf(torn);
    truncateSync(path, statSync(path).size - 4);
    const result = await sweepSpool(spool, queues, { minAgeMs: 0 });
    expect(result.requeued).toEqual([whole]);
    expect(result.partialRemoved).toEqual([torn]);
    expect(await spool.exists(torn)).toBe(false);
    expect(await queues.has('filter', torn)).toBe(false);
    await queues.close();
  });
});
