// Postamt's side of a bench: a real redis-server (from @postamt/testkit), the
// directory seeded with the bench domain and user, and services started as
// child processes from their built dist/main.js.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Directory } from '@postamt/directory';
import { connectRedis, Queues } from '@postamt/queue';
import { freePort, makeTempDir, startRedis } from '@postamt/testkit';
import { onCleanup, removeDirLater } from './cleanup.mjs';
import {
  httpOk,
  imapGreeting,
  popGreeting,
  smtpBanner,
  startChild,
  treeCpuSeconds,
  treeMemory,
} from './proc.mjs';
import { fatal, waitUntil, withTimeout } from './timing.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A redis-server for the whole scenario plus one client connection to it. */
export async function startBenchRedis({ keep = false } = {}) {
  const server = await startRedis();
  // testkit kills its children at exit; we also stop it and remove its dir.
  const stopServer = onCleanup(
    `redis ${server.port}`,
    async () => {
      await server.stop();
      if (!keep) rmSync(server.dir, { recursive: true, force: true });
    },
    () => {
      if (!keep) rmSync(server.dir, { recursive: true, force: true });
    },
  );
  const redis = connectRedis(server.url, 'worker');
  const closeClient = onCleanup('redis client', async () => {
    redis.disconnect();
  });
  const info = await redis.info('server');
  return {
    url: server.url,
    port: server.port,
    redis,
    version: /redis_version:(\S+)/.exec(info)?.[1],
    pid: Number(/process_id:(\d+)/.exec(info)?.[1]),
    cpuSeconds() {
      return treeCpuSeconds(this.pid);
    },
    async stop() {
      await closeClient();
      await stopServer();
    },
  };
}

/** Empties Redis and seeds the directory: the domain and its one user. */
export async function resetAndSeed(redis, { domain, user, password = 'x' }) {
  await redis.flushall();
  const directory = new Directory(redis);
  await directory.addDomain(domain);
  await directory.putUser({ address: user, password });
}

/**
 * Empties Redis, seeds the domain and user, and returns the password hash the
 * directory stored ({ARGON2ID}$argon2id$…), for Dovecot's user list: both
 * servers then pay the same hash at login.
 */
export async function seedBenchUser(redis, { domain, user, password = 'x', timeoutMs = 15_000 }) {
  await withTimeout(resetAndSeed(redis, { domain, user, password }), timeoutMs, 'seed Redis');
  return (await new Directory(redis).getUser(user))?.passwordHash;
}

/** Jobs in a BullMQ queue by state (waiting, active, delayed, ...). */
export async function queueCounts(redis, name) {
  const queues = new Queues(redis);
  try {
    return await queues
      .get(name)
      .getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
  } finally {
    // Closes only the Queue object; the shared connection stays open.
    await queues.close();
  }
}

/** Number of committed spool files (<data>/spool/*.msg). */
export function spoolCount(dataDir) {
  const dir = join(dataDir, 'spool');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).filter((n) => n.endsWith('.msg')).length;
}

export function intakeEntry() {
  return join(repoRoot, 'services/intake/dist/main.js');
}

export function pop3Entry() {
  return join(repoRoot, 'services/pop3/dist/main.js');
}

export function imapEntry() {
  return join(repoRoot, 'services/imap/dist/main.js');
}

// POSTAMT_* from the caller's shell are dropped: the bench alone decides a
// service's configuration, so runs are comparable.
function benchEnv(vars) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('POSTAMT_')),
  );
  return { ...inherited, POSTAMT_BIND: '127.0.0.1', POSTAMT_LOG_LEVEL: 'warn', ...vars };
}

/**
 * Starts a built service (dist/main.js) as a child with its log in `data` and
 * waits until /readyz answers 200 and `greets(port)` is true.
 */
async function startService({ name, entry, data, removeData, env, metricsPort, greets }) {
  if (!existsSync(entry)) {
    throw new Error(`${entry} does not exist; build first: node deploy/local/bootstrap.mjs build`);
  }
  const logFile = join(data, `${name}.log`);
  // The log lives in the data dir, which is removed after the child is stopped
  // (cleanups run newest first).
  const proc = startChild(name, process.execPath, [entry], { env, cwd: repoRoot, logFile });
  const stop = async () => {
    await proc.stop();
    await removeData();
  };
  try {
    await waitUntil(
      `${name} readiness (http://127.0.0.1:${metricsPort}/readyz)`,
      async () => {
        if (proc.gone()) throw fatal(`${name} exited during start-up:\n${proc.logTail()}`);
        return (await httpOk(metricsPort, '/readyz')) && (await greets());
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    const log = proc.logTail();
    await stop();
    throw new Error(`${err.message}${log && !err.message.includes(log) ? `\n--- ${name} log:\n${log}` : ''}`);
  }
  return {
    data,
    metricsPort,
    pid: proc.pid,
    cpuSeconds: () => treeCpuSeconds(proc.pid),
    memory: (opts) => treeMemory(proc.pid, opts),
    logTail: proc.logTail,
    alive: () => !proc.gone(),
    stop,
  };
}

/**
 * Starts the intake on fresh loopback ports with a fresh data dir and waits
 * until /readyz answers 200 and the SMTP banner arrives.
 */
export async function startIntake({
  redisUrl,
  hostname = 'bench.postamt.test',
  keep = false,
  extraEnv = {},
}) {
  const data = makeTempDir('bench-intake');
  const removeData = removeDirLater(data, keep);
  const smtpPort = await freePort();
  const metricsPort = await freePort();
  const env = benchEnv({
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisUrl,
    POSTAMT_HOSTNAME: hostname,
    POSTAMT_SMTP_PORT: String(smtpPort),
    POSTAMT_SUBMISSION_PORT: 'off',
    POSTAMT_SUBMISSIONS_PORT: 'off',
    POSTAMT_METRICS_PORT: String(metricsPort),
    // Like the Postfix instance's mynetworks: the loopback load generator skips
    // the inbound client checks (FCrDNS, HELO, DNSBL), which need real DNS.
    POSTAMT_MYNETWORKS: '127.0.0.0/8',
    ...extraEnv,
  });
  const greets = () => smtpBanner(smtpPort);
  const svc = await startService({
    name: 'intake',
    entry: intakeEntry(),
    data,
    removeData,
    env,
    metricsPort,
    greets,
  });
  return { ...svc, smtpPort };
}

/**
 * Starts the pop3 service over an existing data dir (`<data>/mail/<domain>/<local>`,
 * removed at cleanup unless `keep`) on fresh loopback ports. Plaintext logins
 * are allowed on loopback (the default), as for Dovecot in the same bench.
 */
export async function startPop3({
  redisUrl,
  data,
  hostname = 'bench.postamt.test',
  keep = false,
  extraEnv = {},
}) {
  const removeData = removeDirLater(data, keep);
  const pop3Port = await freePort();
  const pop3sPort = await freePort();
  const metricsPort = await freePort();
  const env = benchEnv({
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisUrl,
    POSTAMT_HOSTNAME: hostname,
    POSTAMT_POP3_PORT: String(pop3Port),
    POSTAMT_POP3S_PORT: String(pop3sPort),
    POSTAMT_METRICS_PORT: String(metricsPort),
    ...extraEnv,
  });
  const greets = () => popGreeting(pop3Port);
  const svc = await startService({
    name: 'pop3',
    entry: pop3Entry(),
    data,
    removeData,
    env,
    metricsPort,
    greets,
  });
  return { ...svc, pop3Port, pop3sPort };
}

/**
 * Starts the imap service over an existing data dir (`<data>/mail/<domain>/<local>`)
 * on fresh loopback ports. The data dir is removed at stop/cleanup unless
 * `keep` or `ownData: false`. `restart()` stops the process and starts it
 * again on the same ports and data (a "server just started" cold run).
 * Plaintext logins are allowed on loopback (the default), as for Dovecot.
 */
export async function startImap({
  redisUrl,
  data,
  hostname = 'bench.postamt.test',
  keep = false,
  ownData = true,
  extraEnv = {},
}) {
  const removeData = ownData ? removeDirLater(data, keep) : async () => {};
  const imapPort = await freePort();
  const imapsPort = await freePort();
  const metricsPort = await freePort();
  const env = benchEnv({
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisUrl,
    POSTAMT_HOSTNAME: hostname,
    POSTAMT_IMAP_PORT: String(imapPort),
    POSTAMT_IMAPS_PORT: String(imapsPort),
    POSTAMT_METRICS_PORT: String(metricsPort),
    ...extraEnv,
  });
  const launch = () =>
    startService({
      name: 'imap',
      entry: imapEntry(),
      data,
      removeData: async () => {},
      env,
      metricsPort,
      greets: () => imapGreeting(imapPort),
    });
  let svc;
  try {
    svc = await launch();
  } catch (err) {
    await removeData();
    throw err;
  }
  return {
    data,
    metricsPort,
    port: imapPort,
    imapPort,
    imapsPort,
    get pid() {
      return svc.pid;
    },
    cpuSeconds: () => svc.cpuSeconds(),
    memory: (opts) => svc.memory(opts),
    logTail: (lines) => svc.logTail(lines),
    alive: () => svc.alive(),
    async restart() {
      await svc.stop();
      svc = await launch();
    },
    async stop() {
      await svc.stop();
      await removeData();
    },
  };
}
