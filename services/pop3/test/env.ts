// A test environment: a real redis-server with two users, a temp data volume,
// and the real POP3 server in-process on free ports.
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { deliver } from '@postamt/maildir';
import { createLogger, Registry } from '@postamt/observability';
import { connectRedis, type Redis } from '@postamt/queue';
import { makeTempDir, type RedisServer, startRedis } from '@postamt/testkit';
import { loadTls } from '@postamt/tls';
import type { PlaintextPolicy } from '../src/config.js';
import { type Pop3Server, startPop3Server } from '../src/server.js';

export interface TestEnv {
  server: Pop3Server;
  dataDir: string;
  inbox(user: string): string;
  /** Delivers like the filter does; returns the file name in new/. */
  put(user: string, content: string | Buffer, key?: string): Promise<string>;
  files(user: string, sub: 'new' | 'cur'): string[];
  restart(overrides?: Partial<ServerKnobs>): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerKnobs {
  allowPlaintext: PlaintextPolicy;
  idleTimeoutMs: number;
  maxAuthFailures: number;
  maxConnectionsPerIp: number;
}

let counter = 0;

export async function startEnv(knobs: Partial<ServerKnobs> = {}): Promise<TestEnv> {
  const redisServer: RedisServer = await startRedis();
  const redis: Redis = connectRedis(redisServer.url, 'producer');
  await new Promise((resolve) => redis.once('ready', resolve));
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'secret' });
  await directory.putUser({ address: 'bob@example.test', password: 'pass word' });
  const dataDir = makeTempDir('pop3');
  const hostname = 'pop3.example.test';
  const tls = await loadTls({ dataDir, hostname });
  const logger = createLogger({ service: 'pop3-test', level: 'silent' });

  const start = (k: Partial<ServerKnobs>) =>
    startPop3Server({
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      hostname,
      dataDir,
      tls,
      directory,
      logger,
      registry: new Registry(),
      allowPlaintext: k.allowPlaintext ?? 'loopback',
      idleTimeoutMs: k.idleTimeoutMs ?? 600_000,
      maxConnections: 100,
      maxConnectionsPerIp: k.maxConnectionsPerIp ?? 20,
      limits: { maxLine: 512, maxAuthFailures: k.maxAuthFailures ?? 3, authFailDelayMs: 10 },
    });

  const env: TestEnv = {
    server: await start(knobs),
    dataDir,
    inbox: (user) => join(dataDir, 'mail', 'example.test', user),
    async put(user, content, key) {
      const d = await deliver({
        dir: env.inbox(user),
        deliveryKey: key ?? `m${++counter}`,
        time: 1_700_000_000 + counter,
        host: hostname,
        source: Buffer.from(content),
      });
      return d.name;
    },
    files: (user, sub) => {
      mkdirSync(join(env.inbox(user), sub), { recursive: true });
      return readdirSync(join(env.inbox(user), sub)).sort();
    },
    async restart(overrides = {}) {
      await env.server.close();
      env.server = await start({ ...knobs, ...overrides });
    },
    async stop() {
      await env.server.close();
      redis.disconnect();
      await redisServer.stop();
    },
  };
  return env;
}

/** What an IMAP server does when a client reads a message: new/ → cur/ with flags. */
export function moveToCur(env: TestEnv, user: string, name: string, flags: string): string {
  const target = `${name}:2,${flags}`;
  renameSync(join(env.inbox(user), 'new', name), join(env.inbox(user), 'cur', target));
  return target;
}

export function writeRaw(env: TestEnv, user: string, name: string, content: string): void {
  mkdirSync(join(env.inbox(user), 'new'), { recursive: true });
  writeFileSync(join(env.inbox(user), 'new', name), content);
}
