// A real redis-server for tests, append-only on (as in production), in its own
// temp dir on a free loopback port. It can be killed and started again on the
// same port and data, to test what survives a Redis crash.
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { type ManagedProcess, makeTempDir, startProcess } from './process.js';

export interface RedisServer {
  host: string;
  port: number;
  url: string;
  dir: string;
  /** SIGKILL (crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One RESP PING without any client library. */
export function redisPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, host, () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export async function startRedis(opts: { appendfsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> {
  const dir = makeTempDir('redis');
  const port = await freePort();
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      `port ${port}`,
      `dir ${dir}`,
      'appendonly yes',
      `appendfsync ${opts.appendfsync ?? 'everysec'}`,
      'save ""',
      'maxmemory-policy noeviction',
      'protected-mode no',
      'daemonize no',
    ].join('\n'),
  );
  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess('redis-server', [conf], { logFile: join(dir, 'redis.log'), cwd: dir });
    await waitFor(`redis on port ${port}`, () => redisPing(port), 15_000);
  };
  await launch();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill: () => proc.kill(),
    restart: async () => {
      await proc.stop();
      await launch();
    },
    stop: () => proc.stop(),
  };
}
