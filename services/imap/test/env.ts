// A test environment: a real redis-server with users, a temp data volume, and
// the real IMAP server in-process on free ports, wired like main.ts (mail
// events over Redis pub/sub, learn jobs on the real queue).
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { deliver, publishMailEvent, redisPublisher } from '@postamt/maildir';
import { createLogger, Registry } from '@postamt/observability';
import { connectRedis, Queues, type Redis } from '@postamt/queue';
import { makeTempDir, startRedis } from '@postamt/testkit';
import { loadTls } from '@postamt/tls';
import { queueLearner } from '../src/learn.js';
import { RedisMailEvents } from '../src/mail-events.js';
import { MaildirStoreProvider } from '../src/mail-store.js';
import { type ImapServer, type ImapServerOptions, startImapServer } from '../src/server.js';

export interface TestEnv {
  server: ImapServer;
  dataDir: string;
  redis: Redis;
  queues: Queues;
  events: RedisMailEvents;
  /** Delivers like the filter does: into new/, then a 'new' event on the user's channel. */
  put(user: string, content: string | Buffer, folder?: string): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startEnv(
  limits: Partial<ImapServerOptions['limits']> = {},
  opts: { quota?: number; maxConnections?: number } = {},
): Promise<TestEnv> {
  const redisServer = await startRedis();
  const redis = connectRedis(redisServer.url, 'producer');
  await new Promise((resolve) => redis.once('ready', resolve));
  const subscriber = connectRedis(redisServer.url, 'worker');
  const queueRedis = connectRedis(redisServer.url, 'worker');
  const queues = new Queues(queueRedis);
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'secret' });
  await directory.putUser({ address: 'bob@example.test', password: 'pass word' });
  await directory.putUser({ address: 'carol@example.test', password: 'secret' });
  const dataDir = makeTempDir('imap');
  const hostname = 'imap.example.test';
  const tls = await loadTls({ dataDir, hostname });
  const logger = createLogger({
    service: 'imap-test',
    level: (process.env.IMAP_TEST_LOG as 'silent') ?? 'silent',
  });
  const events = new RedisMailEvents(subscriber, logger);
  const server = await startImapServer({
    bind: '127.0.0.1',
    port: 0,
    tlsPort: 0,
    hostname,
    tls,
    directory,
    stores: new MaildirStoreProvider({
      dataDir,
      hostname,
      quotaOf: async (key) => (key.startsWith('carol@') ? (opts.quota ?? 0) : 0),
      publisher: (key) => redisPublisher(redis, key),
    }),
    events,
    learner: queueLearner((id, payload) => queues.add('learn', id, payload), logger),
    logger,
    registry: new Registry(),
    allowPlaintext: 'loopback',
    maxConnections: opts.maxConnections ?? 100,
    maxConnectionsPerIp: opts.maxConnections ?? 50,
    limits: {
      maxLine: 8192,
      maxLiteral: 4096,
      maxMessage: 1024 * 1024,
      maxAuthFailures: 3,
      authFailDelayMs: 10,
      idleTimeoutMs: 600_000,
      ...limits,
    },
  });
  return {
    server,
    dataDir,
    redis,
    queues,
    events,
    async put(user, content, folder) {
      const root = join(dataDir, 'mail', 'example.test', user);
      await deliver({
        dir: folder ? join(root, `.${folder}`) : root,
        deliveryKey: `t${++counter}`,
        time: 1_700_000_000 + counter,
        host: hostname,
        source: Buffer.from(content),
      });
      await publishMailEvent(redis, `${user}@example.test`, { type: 'new', folder: folder ?? 'INBOX' });
    },
    async stop() {
      await server.close();
      await queues.close();
      queueRedis.disconnect();
      subscriber.disconnect();
      redis.disconnect();
      await redisServer.stop();
    },
  };
}
