// `npm run up`: the whole suite on this machine, as local processes in one
// supervised group. Redis, clamd and spamd run from the OS packages with their
// state under the data directory (./data unless POSTAMT_DATA says otherwise);
// each built service runs as a child with the POSTAMT_* variables of this
// process. Ctrl-C or SIGTERM stops everything, services first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applySeed, Directory, readSeedFile } from '@postamt/directory';
import { connectRedis } from '@postamt/queue';
import {
  clamdConfig,
  clamdPing,
  prepareSpamdHome,
  redisPing,
  spamdArgs,
  spamdPing,
  waitFor,
  writeEicarSignatures,
} from '@postamt/testkit';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const data = resolve(process.env.POSTAMT_DATA ?? join(root, 'data'));
const DEMO = { domain: 'example.test', address: 'demo@example.test', password: 'demo-password' };

/** Local-run ports (ARCHITECTURE.md, "local run" column). */
const SERVICES = [
  {
    name: 'intake',
    metrics: 9101,
    env: { POSTAMT_SMTP_PORT: '2525', POSTAMT_SUBMISSION_PORT: '2587', POSTAMT_SUBMISSIONS_PORT: '2465' },
  },
  { name: 'filter', metrics: 9102, env: {} },
  { name: 'relay', metrics: 9103, env: {} },
  { name: 'imap', metrics: 9104, env: { POSTAMT_IMAP_PORT: '2143', POSTAMT_IMAPS_PORT: '2993' } },
  { name: 'pop3', metrics: 9105, env: { POSTAMT_POP3_PORT: '2110', POSTAMT_POP3S_PORT: '2995' } },
  { name: 'admin', metrics: 9106, env: { POSTAMT_ADMIN_PORT: '8080' } },
];

const children = new Set();
let stopping = false;

function say(msg) {
  process.stdout.write(`[postamt] ${msg}\n`);
}

/** Starts a child whose output is prefixed with its name, or written to `logFile`. */
function launch(name, cmd, args, env, logFile) {
  const out = logFile ? openSync(logFile, 'a') : 'pipe';
  const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
  const prefix = `${name.padEnd(7)}| `;
  for (const stream of [child.stdout, child.stderr].filter(Boolean)) {
    let partial = '';
    stream.on('data', (d) => {
      const text = partial + d.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
    });
  }
  child.postamtName = name;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Keeps a service running: restarts it (with backoff) if it dies while we are not stopping. */
function supervise(name, cmd, args, env) {
  let backoff = 1000;
  const start = () => {
    const started = Date.now();
    const child = launch(name, cmd, args, env);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      if (code === 78) {
        say(`${name} refused its configuration (see above); not restarting it`);
        return;
      }
      if (Date.now() - started > 30_000) backoff = 1000;
      say(`${name} exited (${signal ?? code}); restarting in ${backoff / 1000}s`);
      setTimeout(start, backoff).unref();
      backoff = Math.min(backoff * 2, 30_000);
    });
  };
  start();
}

async function startRedis(env) {
  if (process.env.POSTAMT_REDIS_URL) return process.env.POSTAMT_REDIS_URL;
  const dir = join(data, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = 26379;
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      `bind 127.0.0.1`,
      `port ${port}`,
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'maxmemory-policy noeviction',
      'daemonize no',
    ].join('\n'),
  );
  launch('redis', 'redis-server', [conf], env, join(dir, 'redis.log'));
  await waitFor('redis', () => redisPing(port), 20_000);
  return `redis://127.0.0.1:${port}`;
}

async function startClamd(env) {
  if (process.env.POSTAMT_CLAMD) return process.env.POSTAMT_CLAMD;
  const dir = join(data, 'clamav');
  const dbDir = join(dir, 'db');
  mkdirSync(dbDir, { recursive: true });
  // No freshclam here: without real signatures, clamd still detects the EICAR test file.
  if (readdirSync(dbDir).length === 0) writeEicarSignatures(dbDir);
  const port = 23310;
  const conf = join(dir, 'clamd.conf');
  writeFileSync(conf, clamdConfig({ port, dbDir, dir }));
  launch('clamd', 'clamd', [`--config-file=${conf}`], env, join(dir, 'clamd.log'));
  await waitFor('clamd', () => clamdPing(port), 120_000, 250);
  return `127.0.0.1:${port}`;
}

async function startSpamd(env) {
  if (process.env.POSTAMT_SPAMD) return process.env.POSTAMT_SPAMD;
  const dir = join(data, 'spamd');
  const home = join(dir, 'home');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  prepareSpamdHome(home);
  const port = 20783;
  launch(
    'spamd',
    'spamd',
    spamdArgs({ port, home, dir, options: { children: 2 } }),
    env,
    join(dir, 'spamd.out'),
  );
  await waitFor('spamd', () => spamdPing(port), 120_000, 250);
  return `127.0.0.1:${port}`;
}

function ensureTls() {
  if (process.env.POSTAMT_TLS_CERT && process.env.POSTAMT_TLS_KEY) return {};
  const dir = join(data, 'tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const host = process.env.POSTAMT_HOSTNAME ?? 'localhost';
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        `/CN=${host}`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    if (r.status !== 0) throw new Error('could not create a self-signed certificate with openssl');
    say(`created a self-signed TLS certificate in ${dir}`);
  }
  return { POSTAMT_TLS_CERT: cert, POSTAMT_TLS_KEY: key };
}

async function ensureAccounts(redisUrl) {
  const redis = connectRedis(redisUrl, 'worker');
  try {
    const directory = new Directory(redis);
    if (process.env.POSTAMT_SEED) {
      const counts = await applySeed(directory, readSeedFile(process.env.POSTAMT_SEED));
      say(`seed applied: ${counts.domains} domains, ${counts.users} users, ${counts.aliases} aliases`);
    }
    if (await directory.isEmpty()) {
      await directory.addDomain(DEMO.domain);
      await directory.putUser({ address: DEMO.address, password: DEMO.password });
      say(`created domain ${DEMO.domain} and user ${DEMO.address}`);
    }
  } finally {
    redis.disconnect();
  }
}

async function stopAll() {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  const services = [...children].filter((c) => !['redis', 'clamd', 'spamd'].includes(c.postamtName));
  const exited = (c) =>
    new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r)));
  const stopGroup = async (group) => {
    for (const c of group) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of group) c.kill('SIGKILL');
    }, 20_000);
    await Promise.all(group.map(exited));
    clearTimeout(timer);
  };
  await stopGroup(services);
  await stopGroup([...children]);
  say('stopped');
  process.exit(0);
}

async function main() {
  mkdirSync(data, { recursive: true });
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  const baseEnv = { ...process.env };
  say(`data directory: ${data}`);
  const [redisUrl, clamd, spamd] = await Promise.all([
    startRedis(baseEnv),
    startClamd(baseEnv),
    startSpamd(baseEnv),
  ]);
  await ensureAccounts(redisUrl);
  const env = {
    POSTAMT_HOSTNAME: 'mail.example.test',
    POSTAMT_BIND: '127.0.0.1',
    POSTAMT_LOG_FORMAT: 'pretty',
    ...process.env,
    ...ensureTls(),
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisUrl,
    POSTAMT_CLAMD: clamd,
    POSTAMT_SPAMD: spamd,
  };
  delete env.POSTAMT_SEED; // applied above, once
  // Offline, with no resolver given, loopback clients could never pass the reverse-DNS
  // and blocklist checks: trust them for the DNS-based checks (syntax checks still
  // apply). Given POSTAMT_DNS_SERVERS or POSTAMT_MYNETWORKS, the operator decides.
  if (!process.env.POSTAMT_DNS_SERVERS && process.env.POSTAMT_MYNETWORKS === undefined) {
    env.POSTAMT_MYNETWORKS = '127.0.0.0/8,::1/128';
    say('no POSTAMT_DNS_SERVERS given: loopback clients skip the DNS-based SMTP checks');
  }
  const started = [];
  for (const svc of SERVICES) {
    const main = join(root, 'services', svc.name, 'dist/main.js');
    if (!existsSync(main)) continue;
    supervise(svc.name, process.execPath, [main], {
      ...svc.env,
      POSTAMT_METRICS_PORT: String(svc.metrics),
      ...env,
    });
    started.push(svc);
  }
  const ports = {
    intake: 'SMTP (MX) 127.0.0.1:2525, submission 2587 (STARTTLS), submissions 2465 (TLS)',
    imap: 'IMAP 127.0.0.1:2143 (STARTTLS), IMAPS 2993',
    pop3: 'POP3 127.0.0.1:2110 (STLS), POP3S 2995',
    admin: 'admin HTTP http://127.0.0.1:8080',
  };
  say('running:');
  for (const svc of started)
    say(`  ${svc.name.padEnd(7)} ${ports[svc.name] ?? ''}  health/metrics :${svc.metrics}`);
  say(`  redis ${redisUrl}  clamd ${clamd}  spamd ${spamd}  (logs under ${data})`);
  say(`demo login: ${DEMO.address} / ${DEMO.password} (created only when the directory was empty)`);
  say(
    'try: swaks --server 127.0.0.1:2525 --helo client.example.org --from you@example.org --to demo@example.test   then   curl -u demo@example.test:demo-password pop3://127.0.0.1:2110/1',
  );
  say('Ctrl-C stops everything.');
}

main().catch(async (err) => {
  process.stderr.write(`[postamt] failed to start: ${err.stack ?? err}\n`);
  await stopAll();
});
