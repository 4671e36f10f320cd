// The shared back end of the e2e suites: real Redis (append-only), clamd and
// spamd, a data volume, the test users in the directory, and the environment
// every Postamt service needs to find them. Services are started by each test
// with startService so a test can kill and restart them one by one.
import { Directory } from '@postamt/directory';
import { connectRedis, type Redis } from '@postamt/queue';
import {
  type ClamdServer,
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  type SpamdServer,
  startClamd,
  startRedis,
  startService,
  startSpamd,
} from '@postamt/testkit';

export const USERS = [
  { address: 'alice@example.test', password: 'alice-secret' },
  { address: 'bob@example.test', password: 'bob-secret' },
  { address: 'carol@example.test', password: 'carol-secret' },
] as const;

export interface Stack {
  data: string;
  logDir: string;
  redisServer: RedisServer;
  /** The test's own connection (worker role: it waits out Redis restarts). */
  redis: Redis;
  clamd: ClamdServer | null;
  spamd: SpamdServer | null;
  /** POSTAMT_* variables every service gets. */
  common: Record<string, string>;
  services: ServiceProcess[];
  start(name: Parameters<typeof startService>[0], env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startStack(
  opts: { data?: string; scanners?: boolean; label?: string; spamdChildren?: number } = {},
): Promise<Stack> {
  const scanners = opts.scanners !== false;
  const [redisServer, clamd, spamd] = await Promise.all([
    startRedis(),
    scanners ? startClamd() : Promise.resolve(null),
    scanners ? startSpamd({ children: opts.spamdChildren }) : Promise.resolve(null),
  ]);
  const redis = connectRedis(redisServer.url, 'worker');
  redis.on('error', () => {});
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  for (const u of USERS) await directory.putUser({ address: u.address, password: u.password });
  const data = opts.data ?? makeTempDir('e2e-data');
  const logDir = makeTempDir(`e2e-logs-${opts.label ?? 'stack'}`);
  process.stderr.write(`${opts.label ?? 'e2e'} service logs: ${logDir}\n`);
  const common: Record<string, string> = {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    // Scanners are not needed by every test; an unused address makes the filter retry.
    POSTAMT_CLAMD: clamd?.address ?? '127.0.0.1:9',
    POSTAMT_SPAMD: spamd?.address ?? '127.0.0.1:9',
  };
  const services: ServiceProcess[] = [];
  return {
    data,
    logDir,
    redisServer,
    redis,
    clamd,
    spamd,
    common,
    services,
    async start(name, env = {}) {
      const svc = await startService(name, { ...common, ...env }, { logDir });
      services.push(svc);
      return svc;
    },
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
      redis.disconnect();
      await Promise.all([redisServer.stop(), clamd?.stop(), spamd?.stop()]);
    },
  };
}

/**
 * Intake on the MX port, trusting loopback (the test clients have no DNS
 * records); the submission listeners on free ports of their own so parallel
 * test files never collide on 587/465.
 */
export async function intakeEnv(
  smtpPort: number,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    POSTAMT_SMTP_PORT: String(smtpPort),
    POSTAMT_SUBMISSION_PORT: String(await freePort()),
    POSTAMT_SUBMISSIONS_PORT: String(await freePort()),
    POSTAMT_MYNETWORKS: '127.0.0.0/8',
    POSTAMT_SMTP_PREGREET_WAIT: '0',
    ...extra,
  };
}
