// The filter's delivery step against a real Redis (directory, queues) and a
// real Maildir on disk: delivery to users and aliases, idempotence on retry.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { createLogger } from '@postamt/observability';
import { connectRedis, Queues, type Redis, Spool } from '@postamt/queue';
import { makeTempDir, type RedisServer, startRedis } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FilterDeps, processMessage } from '../src/process-message.js';

let server: RedisServer;
let redis: Redis;
let deps: FilterDeps;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, 'worker');
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  for (const u of ['alice', 'bob', 'carol'])
    await directory.putUser({ address: `${u}@example.test`, password: 'p' });
  await directory.putAlias('team@example.test', [
    'alice@example.test',
    'bob@example.test',
    'carol@example.test',
  ]);
  const data = makeTempDir('filter');
  const spool = new Spool(data);
  await spool.init();
  deps = {
    spool,
    queues: new Queues(redis),
    directory,
    dataDir: data,
    hostname: 'mx.example.test',
    logger: createLogger({ service: 'filter-test', level: 'silent' }),
  };
});

afterAll(async () => {
  await deps.queues.close();
  redis.disconnect();
  await server.stop();
});

const BODY = Buffer.from('Received: from x\r\nSubject: hi\r\n\r\nHello.\r\n');

function spoolMessage(rcpts: string[]): Promise<string> {
  return deps.spool.put(
    {
      receivedAt: new Date().toISOString(),
      mailFrom: 'bob@example.org',
      rcptTo: rcpts.map((address) => ({ address })),
      source: 'mx',
      client: { ip: '192.0.2.1' },
      params: {},
    },
    BODY,
  );
}

function inbox(user: string): string[] {
  return readdirSync(join(deps.dataDir, 'mail/example.test', user, 'new'));
}

describe('filter delivery', () => {
  it('delivers the exact spooled bytes to each local recipient once, and removes the spool file', async () => {
    const id = await spoolMessage(['alice@example.test']);
    const outcome = await processMessage(deps, id);
    expect(outcome).toEqual({ kind: 'done', delivered: 1, duplicates: 0, relayed: 0, dropped: 0 });
    const [file] = inbox('alice').filter((n) => n.includes(id));
    expect(readFileSync(join(deps.dataDir, 'mail/example.test/alice/new', file as string)).equals(BODY)).toBe(
      true,
    );
    expect(await deps.spool.exists(id)).toBe(false);
    expect(await processMessage(deps, id)).toEqual({ kind: 'no-spool-file' });
  });

  it('a retry after failing between recipients delivers the rest once and the first not again', async () => {
    const id = await spoolMessage(['bob@example.test', 'carol@example.test']);
    // Carol's mailbox cannot be written (a file where her Maildir should be): the job
    // fails after bob's copy, as a worker killed between recipients would.
    const carolDir = join(deps.dataDir, 'mail/example.test/carol');
    rmSync(carolDir, { recursive: true, force: true });
    mkdirSync(join(deps.dataDir, 'mail/example.test'), { recursive: true });
    writeFileSync(carolDir, 'in the way');
    await expect(processMessage(deps, id)).rejects.toThrow();
    expect(inbox('bob').filter((n) => n.includes(id))).toHaveLength(1);
    expect(await deps.spool.exists(id)).toBe(true);
    rmSync(carolDir);
    const retry = await processMessage(deps, id);
    expect(retry).toMatchObject({ kind: 'done', delivered: 1, duplicates: 1 });
    expect(inbox('bob').filter((n) => n.includes(id))).toHaveLength(1);
    expect(inbox('carol').filter((n) => n.includes(id))).toHaveLength(1);
  });

  it('expands aliases to every member', async () => {
    const id = await spoolMessage(['team@example.test', 'alice@example.test']);
    expect(await processMessage(deps, id)).toMatchObject({ kind: 'done', delivered: 3, duplicates: 0 });
    for (const u of ['alice', 'bob', 'carol']) expect(inbox(u).filter((n) => n.includes(id))).toHaveLength(1);
  });
});
