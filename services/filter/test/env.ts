// A filter test environment: real Redis (directory, queues, verdict store),
// real clamd and spamd, a temp data volume, and a few users.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { createLogger } from '@postamt/observability';
import { connectRedis, Queues, type Redis, Spool } from '@postamt/queue';
import { ClamdClient, SpamdClient } from '@postamt/scanners';
import {
  type ClamdServer,
  makeTempDir,
  type RedisServer,
  type SpamdServer,
  startClamd,
  startDnsServer,
  startRedis,
  startSpamd,
  type TestDnsServer,
} from '@postamt/testkit';
import { Authenticator, dnsResolver } from '../src/authenticate.js';
import type { FilterDeps } from '../src/process-message.js';
import { RedisVerdictStore } from '../src/verdict-store.js';

export interface FilterEnv {
  redisServer: RedisServer;
  clamd: ClamdServer;
  spamd: SpamdServer;
  dns: TestDnsServer;
  redis: Redis;
  deps: FilterDeps;
  stop(): Promise<void>;
}

export const USERS = ['alice', 'bob', 'carol'];

export async function startFilterEnv(): Promise<FilterEnv> {
  const [redisServer, clamd, spamd, dns] = await Promise.all([
    startRedis(),
    startClamd(),
    startSpamd(),
    startDnsServer(),
  ]);
  const redis = connectRedis(redisServer.url, 'worker');
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  for (const u of USERS) await directory.putUser({ address: `${u}@example.test`, password: 'p' });
  await directory.putAlias(
    'team@example.test',
    USERS.map((u) => `${u}@example.test`),
  );
  const data = makeTempDir('filter');
  const spool = new Spool(data);
  await spool.init();
  const deadlines = { connectMs: 1_000, idleMs: 5_000, totalMs: 15_000 };
  const deps: FilterDeps = {
    spool,
    queues: new Queues(redis),
    directory,
    scanners: {
      clamd: new ClamdClient({ host: clamd.host, port: clamd.port, deadlines }),
      spamd: new SpamdClient({ host: spamd.host, port: spamd.port, deadlines }),
      auth: new Authenticator(dnsResolver([{ host: dns.host, port: dns.port }], 500), 'mx.example.test'),
    },
    verdicts: new RedisVerdictStore(redis),
    levels: {
      tag: -999,
      tag2: 5,
      kill: 25,
      limitAction: 'deliver',
      dmarcRejectAction: 'quarantine',
      bannedExtensions: ['exe', 'com', 'scr'],
      subjectTag: '',
    },
    levelOverrides: {},
    dataDir: data,
    hostname: 'mx.example.test',
    logger: createLogger({ service: 'filter-test', level: 'silent' }),
  };
  return {
    redisServer,
    clamd,
    spamd,
    dns,
    redis,
    deps,
    async stop() {
      await deps.queues.close();
      redis.disconnect();
      await Promise.all([redisServer.stop(), clamd.stop(), spamd.stop(), dns.stop()]);
    },
  };
}

export function spoolMessage(deps: FilterDeps, rcpts: string[], body: Buffer): Promise<string> {
  return deps.spool.put(
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
}

/** Files of message `id` in a user's folder (`''` is INBOX). */
export function filesOf(dataDir: string, user: string, id: string, folder = ''): Buffer[] {
  const dir = join(dataDir, 'mail/example.test', user, folder === '' ? '' : `.${folder}`, 'new');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.includes(id)).map((n) => readFileSync(join(dir, n)));
}
