// A test environment: a real redis-server with users, a temp data volume, and
// the real IMAP server in-process on free ports.
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { deliver } from '@postamt/maildir';
import { createLogger, Registry } from '@postamt/observability';
import { connectRedis } from '@postamt/queue';
import { makeTempDir, startRedis } from '@postamt/testkit';
import { parseBasic } from '../src/message-basic.js';
import { type ImapServer, startImapServer } from '../src/server.js';
import { MaildirStoreProvider } from '../src/store-maildir.js';
import { loadTls } from '../src/tls.js';

export interface TestEnv {
  server: ImapServer;
  dataDir: string;
  put(user: string, content: string, folder?: string): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startEnv(): Promise<TestEnv> {
  const redisServer = await startRedis();
  const redis = connectRedis(redisServer.url, 'producer');
  await new Promise((resolve) => redis.once('ready', resolve));
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'secret' });
  await directory.putUser({ address: 'bob@example.test', password: 'pass word' });
  const dataDir = makeTempDir('imap');
  const hostname = 'imap.example.test';
  const tls = await loadTls({ dataDir, hostname });
  const server = await startImapServer({
    bind: '127.0.0.1',
    port: 0,
    tlsPort: 0,
    hostname,
    tls,
    directory,
    stores: new MaildirStoreProvider(dataDir, hostname, async () => 0),
    parse: parseBasic,
    logger: createLogger({ service: 'imap-test', level: 'silent' }),
    registry: new Registry(),
    allowPlaintext: 'loopback',
    maxConnections: 100,
    maxConnectionsPerIp: 50,
    limits: {
      maxLine: 8192,
      maxLiteral: 4096,
      maxMessage: 1024 * 1024,
      maxAuthFailures: 3,
      authFailDelayMs: 10,
      idleTimeoutMs: 600_000,
    },
  });
  return {
    server,
    dataDir,
    async put(user, content, folder) {
      const root = join(dataDir, 'mail', 'example.test', user);
      await deliver({
        dir: folder ? join(root, `.${folder}`) : root,
        deliveryKey: `t${++counter}`,
        time: 1_700_000_000 + counter,
        host: hostname,
        source: Buffer.from(content),
      });
    },
    async stop() {
      await server.close();
      redis.disconnect();
      await redisServer.stop();
    },
  };
}
