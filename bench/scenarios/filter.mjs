// Filter throughput (issue 5): a mixed corpus (ham, spam, GTUBE, EICAR plain
// and zipped, attachments; 1 in 10 for three recipients) through Postamt's
// filter workers (1 process, then 2) next to the raw capacity of the same
// spamd and clamd driven directly in the same run: `spamc -y` (the Debian
// spamc client, one per message) ∥ a raw INSTREAM client, per message, at the
// same number of messages in flight. Postamt's overhead = 1 − filter/raw; the
// issue's goal is under 5 %. amavisd-new is compared when it is installed
// (bench/lib/amavis.mjs).
//
// Same scanners on both sides: one clamd (testkit: EICAR signatures only, so
// clamd costs little), one spamd with per-user config dirs and network tests
// off, both as `User: postamt-site` (the filter's site-wide store; Bayes is
// untrained, so neither side pays for it): spamc runs with `-u postamt-site`,
// the filter picks that user for every message (spam-user.ts), and both send
// SYMBOLS with the head and the message in one write. spamd's cost of `User:`
// itself is measured apart (last figure). Sender authentication (DKIM/SPF/
// DMARC) is off in the filter: it needs DNS answers, and it is not a scanner.
// Raw runs come before, between and after the filter runs, to show drift on
// a shared machine; each filter run is compared with its two neighbours.
//
// The figures (all from one run):
//   - throughput overhead = 1 − filter msg/s ÷ raw msg/s (raw: the mean of the
//     raw runs before and after that filter run);
//   - CPU share = filter workers' CPU per message ÷ spamd + clamd CPU per
//     message (process trees from /proc; the scanners over the raw runs). On a
//     CPU-bound machine the throughput overhead tends to this share; it is the
//     steadier of the two on a loaded machine. The goal is under 5 %;
//   - the scanners' CPU per message during a filter run next to a raw run
//     (each message is scanned once);
//   - spamd's CPU per message with and without the per-request `User:`
//     (in-process SPAMC client, up to 400 messages each).
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { Queues, Spool } from '@postamt/queue';
import {
  attachmentMessage,
  EICAR,
  freePort,
  GTUBE,
  hamSample,
  makeTempDir,
  spamSample,
  startClamd,
  startSpamd,
  textMessage,
  zipOneFile,
} from '@postamt/testkit';
import { runAmavis } from '../lib/amavis.mjs';
import { onCleanup, removeDirLater } from '../lib/cleanup.mjs';
import { repoRoot, spoolCount, startBenchRedis } from '../lib/postamt.mjs';
import { httpOk, requireProgram, startChild, treeCpuSeconds } from '../lib/proc.mjs';
import { fatal, now, waitUntil } from '../lib/timing.mjs';

export const description =
  'filter workers (1 and 2 processes) vs raw spamc + clamd INSTREAM on the same scanners, 2,000 mixed messages';
export const peer = 'raw scanners';
export const options = {
  messages: { type: 'string', default: '2000', description: 'messages per run' },
  concurrency: {
    type: 'string',
    default: '4',
    description: 'messages in flight (raw client; filter: split over the worker processes); spamd children',
  },
  profile: {
    type: 'string',
    default: '',
    description: 'only one 1-process filter run, with node --cpu-prof into this dir',
  },
  'skip-amavis': { type: 'boolean', default: false, description: 'do not run amavisd-new' },
  warmup: {
    type: 'string',
    default: '40',
    description: 'messages each filter run handles before it is measured (the scanners get as many raw)',
  },
};

const SITE_USER = 'postamt-site';
const DOMAIN = 'bench.test';
const USERS = Array.from({ length: 10 }, (_, i) => `user${i}@${DOMAIN}`);

/** The corpus: message i of n, deterministic. */
export function corpus(n) {
  const pdf = Buffer.alloc(20_000, 'PDF-1.4 stream of a quarterly report ');
  const png = Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 7919) & 0xff));
  const out = [];
  for (let i = 0; i < n; i++) {
    const to = i % 10 === 9 ? [USERS[i % 10], USERS[(i + 1) % 10], USERS[(i + 2) % 10]] : [USERS[i % 10]];
    const o = { to: to.join(', '), subject: `message ${i}` };
    const kind = i % 20;
    let body;
    if (kind < 11) body = hamSample(i, o);
    else if (kind < 14) body = spamSample(i, o);
    else if (kind === 14) body = textMessage(`Special offer ${i}\n${GTUBE}\n`, o);
    else if (kind === 15) body = textMessage(`see below ${i}\n${EICAR}\n`, o);
    else if (kind === 16)
      body = attachmentMessage(
        zipOneFile('readme.com', Buffer.from(EICAR)),
        'files.zip',
        'application/zip',
        o,
      );
    else if (kind === 17) body = attachmentMessage(pdf, `report-${i}.pdf`, 'application/pdf', o);
    else if (kind === 18) body = attachmentMessage(png, `photo-${i}.png`, 'image/png', o);
    else
      body = attachmentMessage(
        zipOneFile('notes.txt', Buffer.from(hamSample(i))),
        'notes.zip',
        'application/zip',
        o,
      );
    out.push({ to, body });
  }
  return out;
}

// --- raw side ----------------------------------------------------------------

/** One INSTREAM scan over a fresh connection (clamd's protocol, 64 KiB chunks). */
function instream(port, message) {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let reply = '';
    sock.setTimeout(30_000, () => sock.destroy(new Error('clamd timeout')));
    sock.once('error', reject);
    sock.on('data', (d) => {
      reply += d.toString('latin1');
    });
    sock.once('close', () =>
      reply.includes('\0') ? resolve(reply.slice(0, -1)) : reject(new Error('no reply')),
    );
    sock.connect(port, '127.0.0.1', () => {
      sock.write('zINSTREAM\0');
      for (let off = 0; off < message.length; off += 65536) {
        const chunk = message.subarray(off, off + 65536);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(chunk.length);
        sock.write(len);
        sock.write(chunk);
      }
      sock.end(Buffer.alloc(4));
    });
  });
}

/** `spamc -y` with the message file as stdin; resolves with its output (rule names). */
function spamc(bin, port, file) {
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'r');
    const child = spawn(bin, ['-d', '127.0.0.1', '-p', String(port), '-u', SITE_USER, '-x', '-y'], {
      stdio: [fd, 'pipe', 'inherit'],
    });
    closeSync(fd);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`spamc exit ${code}`)),
    );
  });
}

/**
 * SYMBOLS over SPAMC/1.5 from this process, one connection per message: the
 * raw capacity without spamc's fork and exec per message.
 */
function spamdSocket(port, message, user = SITE_USER) {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const parts = [];
    sock.setTimeout(120_000, () => sock.destroy(new Error('spamd timeout')));
    sock.once('error', reject);
    sock.on('data', (d) => parts.push(d));
    sock.once('close', () => {
      const reply = Buffer.concat(parts).toString('latin1');
      if (/^SPAMD\/[\d.]+ 0 /.test(reply)) resolve(reply.slice(reply.indexOf('\r\n\r\n') + 4));
      else reject(new Error(`spamd: ${reply.slice(0, 80)}`));
    });
    sock.connect(port, '127.0.0.1', () => {
      const userLine = user ? `User: ${user}\r\n` : '';
      // Head and message in one write, as spamc and the filter's client send them.
      const head = `SYMBOLS SPAMC/1.5\r\nContent-length: ${message.length}\r\n${userLine}\r\n`;
      sock.end(Buffer.concat([Buffer.from(head, 'latin1'), message]));
    });
  });
}

async function pool(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** CPU seconds of spamd (master and children) and clamd so far. */
function scannerCpu(scannerPids) {
  return { spamd: treeCpuSeconds(scannerPids.spamd), clamd: treeCpuSeconds(scannerPids.clamd) };
}

/** Scanner CPU per message between two scannerCpu() readings, in ms. */
function scannerCpuPerMessage(c0, c1, n) {
  const spamd = ((c1.spamd - c0.spamd) * 1000) / n;
  const clamd = ((c1.clamd - c0.clamd) * 1000) / n;
  return { spamd, clamd, total: spamd + clamd };
}

async function runRaw({
  files,
  messages,
  concurrency,
  clamd,
  spamd,
  spamcBin,
  scannerPids,
  socket = false,
  user = SITE_USER,
}) {
  let viruses = 0;
  let gtube = 0;
  const c0 = scannerCpu(scannerPids);
  const t0 = now();
  await pool(messages, concurrency, async (m, i) => {
    const [virus, rules] = await Promise.all([
      instream(clamd.port, m.body),
      socket ? spamdSocket(spamd.port, m.body, user) : spamc(spamcBin, spamd.port, files[i]),
    ]);
    if (virus.endsWith('FOUND')) viruses++;
    if (rules.includes('GTUBE')) gtube++;
  });
  const seconds = now() - t0;
  const scanners = scannerCpuPerMessage(c0, scannerCpu(scannerPids), messages.length);
  return { seconds, rate: messages.length / seconds, viruses, gtube, scanners };
}

// --- Postamt side ----------------------------------------------------------------

async function startWorker({ data, redisUrl, clamd, spamd, concurrency, index, profile }) {
  const metricsPort = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POSTAMT_'))),
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisUrl,
    POSTAMT_CLAMD: clamd.address,
    POSTAMT_SPAMD: spamd.address,
    POSTAMT_HOSTNAME: 'mx.bench.test',
    POSTAMT_BIND: '127.0.0.1',
    POSTAMT_METRICS_PORT: String(metricsPort),
    POSTAMT_LOG_LEVEL: 'warn',
    POSTAMT_FILTER_CONCURRENCY: String(concurrency),
    POSTAMT_AUTH_CHECKS: 'false',
    POSTAMT_SPAMD_SITE_USER: SITE_USER,
    POSTAMT_SPAM_TAG2_LEVEL: '5',
    ...(profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile}` } : {}),
  };
  const entry = join(repoRoot, 'services/filter/dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist; build first`);
  const proc = startChild(`filter-${index}`, process.execPath, [entry], {
    env,
    cwd: data,
    logFile: join(data, `filter-${index}.log`),
  });
  await waitUntil(
    `filter ${index} readiness`,
    async () => {
      if (proc.gone()) throw fatal(`filter exited during start-up:\n${proc.logTail()}`);
      return httpOk(metricsPort, '/readyz');
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return proc;
}

async function runFilter({
  redis,
  redisUrl,
  messages,
  warmup = [],
  concurrency,
  workers,
  clamd,
  spamd,
  keep,
  log,
  profile,
  scannerPids,
}) {
  await redis.flushall();
  const directory = new Directory(redis);
  await directory.addDomain(DOMAIN);
  for (const address of USERS) await directory.putUser({ address, password: 'x' });
  const data = makeTempDir('bench-filter');
  const removeData = removeDirLater(data, keep);
  const spool = new Spool(data);
  await spool.init();
  const put = async (m) =>
    spool.put(
      {
        receivedAt: new Date().toISOString(),
        mailFrom: 'sender@example.org',
        rcptTo: m.to.map((address) => ({ address })),
        source: 'mx',
        client: { ip: '192.0.2.1' },
        params: {},
      },
      m.body,
    );
  const warmIds = [];
  for (const m of warmup) warmIds.push(await put(m));
  const ids = [];
  for (const m of messages) ids.push(await put(m));
  await spool.close();
  const per = Math.max(1, Math.round(concurrency / workers));
  const procs = [];
  for (let w = 0; w < workers; w++)
    procs.push(await startWorker({ data, redisUrl, clamd, spamd, concurrency: per, index: w, profile }));
  const queues = new Queues(redis);
  const died = () => {
    for (const p of procs) if (p.gone()) throw fatal(`a filter worker died:\n${p.logTail()}`);
  };
  // Warm-up, like the scanners': a long-running worker has its code compiled
  // (V8 tiers up after some runs) and its connections open. Its cost is
  // reported apart (coldCpuMsPerMessage), not hidden.
  const cpuCold = procs.map((p) => treeCpuSeconds(p.pid));
  for (const id of warmIds) await queues.add('filter', id, { spoolId: id });
  await waitUntil(
    `${warmIds.length} warm-up messages filtered`,
    async () => {
      died();
      return spoolCount(data) === ids.length;
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  const cpu0 = procs.map((p) => treeCpuSeconds(p.pid));
  const coldCpu = cpu0.reduce((s, c, i) => s + (c - cpuCold[i]), 0);
  const sc0 = scannerCpu(scannerPids);
  const t0 = now();
  for (const id of ids) await queues.add('filter', id, { spoolId: id });
  await waitUntil(
    `${messages.length} messages filtered`,
    async () => {
      died();
      return spoolCount(data) === 0;
    },
    { timeoutMs: 1_800_000, intervalMs: 50 },
  );
  const seconds = now() - t0;
  const cpu = procs.reduce((s, p, i) => s + (treeCpuSeconds(p.pid) - cpu0[i]), 0);
  const scanners = scannerCpuPerMessage(sc0, scannerCpu(scannerPids), messages.length);
  const counts = await queues.get('filter').getJobCounts('failed', 'delayed', 'active', 'wait');
  await queues.close();
  const quarantined = existsSync(join(data, 'quarantine'))
    ? readdirSync(join(data, 'quarantine')).filter((n) => n.endsWith('.json')).length
    : 0;
  const delivered = USERS.reduce((sum, u) => {
    const home = join(data, 'mail', DOMAIN, u.split('@')[0]);
    const count = (dir) => (existsSync(dir) ? readdirSync(dir).length : 0);
    return sum + count(join(home, 'new')) + count(join(home, '.Junk/new'));
  }, 0);
  for (const p of procs) await p.stop();
  log(
    `filter ×${workers}: ${seconds.toFixed(1)} s, ${delivered} deliveries, quarantine entries ${quarantined}`,
  );
  await removeData();
  return {
    seconds,
    rate: messages.length / seconds,
    cpuMsPerMessage: (cpu * 1000) / messages.length,
    coldCpuMsPerMessage: warmIds.length > 0 ? (coldCpu * 1000) / warmIds.length : null,
    scanners,
    delivered,
    quarantined,
    retries: counts.delayed + counts.failed,
  };
}

export async function run(opts, { log, keep }) {
  const n = Number(opts.messages);
  const concurrency = Number(opts.concurrency);
  const spamcBin = requireProgram('spamc', 'apt-get install spamc');
  const redis = await startBenchRedis({ keep });
  const [clamd, spamd] = await Promise.all([
    startClamd(),
    startSpamd({ perUserBayes: true, children: concurrency }),
  ]);
  onCleanup(
    'clamd',
    () => clamd.stop(),
    () => {},
  );
  onCleanup(
    'spamd',
    () => spamd.stop(),
    () => {},
  );
  const pidOf = (file) => Number(readFileSync(file, 'utf8'));
  const scannerPids = {
    spamd: pidOf(join(spamd.dir, 'spamd.pid')),
    clamd: pidOf(join(clamd.dir, 'clamd.pid')),
  };

  const messages = corpus(n);
  const dir = makeTempDir('bench-filter-corpus');
  removeDirLater(dir, keep);
  mkdirSync(dir, { recursive: true });
  const files = messages.map((m, i) => {
    const f = join(dir, `${i}.eml`);
    writeFileSync(f, m.body);
    return f;
  });
  const bytes = messages.reduce((s, m) => s + m.body.length, 0);
  log(`${n} messages, ${(bytes / 1e6).toFixed(1)} MB; warming up spamd and clamd`);
  const raw = (label) => {
    log(`raw ${label}: spamc ∥ INSTREAM at ${concurrency} in flight`);
    return runRaw({ files, messages, concurrency, clamd, spamd, spamcBin, scannerPids });
  };
  await runRaw({
    files: files.slice(0, 40),
    messages: messages.slice(0, 40),
    concurrency,
    clamd,
    spamd,
    spamcBin,
    scannerPids,
  });
  // Warm-up messages for the filter: other bodies of the same mix (the corpus continued).
  const warmup = corpus(n + Number(opts.warmup)).slice(n);
  const filterRun = (workers, profile) =>
    runFilter({
      redis: redis.redis,
      redisUrl: redis.url,
      messages,
      warmup,
      concurrency,
      workers,
      clamd,
      spamd,
      keep,
      log,
      profile,
      scannerPids,
    });

  if (opts.profile) {
    mkdirSync(opts.profile, { recursive: true });
    const r = await filterRun(1, opts.profile);
    log(`profile written to ${opts.profile} (open the .cpuprofile in Chrome DevTools)`);
    const figure = {
      name: 'filter CPU per message, 1 process (profiled)',
      unit: 'ms',
      better: 'lower',
      postamt: r.cpuMsPerMessage,
      peer: r.scanners.total,
      note: 'peer: spamd + clamd CPU per message in the same run',
    };
    return { figures: [figure], ok: true, notes: [], details: { profiled: r } };
  }
  // Raw runs between the filter runs: each filter run is compared with the
  // mean of the raw runs just before and after it (a shared machine drifts).
  const rawRuns = [await raw('1 of 3')];
  const run1 = await filterRun(1);
  rawRuns.push(await raw('2 of 3'));
  const run2 = await filterRun(2);
  rawRuns.push(await raw('3 of 3'));
  log(`raw: ${rawRuns.map((r) => r.rate.toFixed(2)).join(', ')} msg/s`);
  // spamd's cost of the per-request `User:` (spam-user.ts): the same messages
  // over an in-process SPAMC client, with and without it, one after the other.
  const userSample = messages.slice(0, Math.min(n, 400));
  const socketRaw = (user) =>
    runRaw({
      files,
      messages: userSample,
      concurrency,
      clamd,
      spamd,
      spamcBin,
      scannerPids,
      socket: true,
      user,
    });
  log(`raw with an in-process SPAMC client, ${userSample.length} messages, with and without User:`);
  const rawSocket = await socketRaw(SITE_USER);
  const rawSocketNoUser = await socketRaw(null);
  const [rawBefore] = rawRuns;
  const mean = (a, b) => (a + b) / 2;
  const raw1 = mean(rawRuns[0].rate, rawRuns[1].rate);
  const raw2 = mean(rawRuns[1].rate, rawRuns[2].rate);
  // The scanners' own cost per message, over all three raw runs.
  const scannerMs = {
    spamd: rawRuns.reduce((s, r) => s + r.scanners.spamd, 0) / rawRuns.length,
    clamd: rawRuns.reduce((s, r) => s + r.scanners.clamd, 0) / rawRuns.length,
  };
  scannerMs.total = scannerMs.spamd + scannerMs.clamd;

  let amavis = null;
  if (!opts['skip-amavis']) {
    amavis = await runAmavis({ messages, files, concurrency, clamd, spamd, keep, log }).catch((err) => ({
      error: err.message,
    }));
    if (amavis?.error) log(`amavisd-new: ${amavis.error}`);
  }

  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const overhead = (r, rawRate) => `${pct(1 - r.rate / rawRate)} throughput overhead (goal < 5 %)`;
  const share = (r) =>
    `= ${pct(r.cpuMsPerMessage / scannerMs.total)} of the scanners' CPU (goal < 5 %), after ${warmup.length} warm-up messages` +
    (r.coldCpuMsPerMessage === null
      ? ''
      : `; those cost ${r.coldCpuMsPerMessage.toFixed(1)} ms each (${pct(r.coldCpuMsPerMessage / scannerMs.total)})`);
  const figures = [
    {
      name: `throughput: filter, 1 process × ${concurrency} jobs vs raw spamc ∥ INSTREAM`,
      unit: 'msg/s',
      better: 'higher',
      postamt: run1.rate,
      peer: raw1,
      note: overhead(run1, raw1),
    },
    {
      name: `throughput: filter, 2 processes × ${Math.max(1, Math.round(concurrency / 2))} jobs vs raw`,
      unit: 'msg/s',
      better: 'higher',
      postamt: run2.rate,
      peer: raw2,
      note: overhead(run2, raw2),
    },
    {
      name: 'throughput: filter, 2 processes vs raw with an in-process SPAMC client',
      unit: 'msg/s',
      better: 'higher',
      postamt: run2.rate,
      peer: rawSocket.rate,
      note: `${pct(1 - run2.rate / rawSocket.rate)} (raw: ${userSample.length} messages, after the filter runs)`,
    },
    {
      name: 'CPU per message: filter, 1 process vs spamd + clamd',
      unit: 'ms',
      better: 'lower',
      postamt: run1.cpuMsPerMessage,
      peer: scannerMs.total,
      note: share(run1),
    },
    {
      name: 'CPU per message: filter, 2 processes vs spamd + clamd',
      unit: 'ms',
      better: 'lower',
      postamt: run2.cpuMsPerMessage,
      peer: scannerMs.total,
      note: share(run2),
    },
    {
      name: 'scanner CPU per message: during filter ×1 vs during raw',
      unit: 'ms',
      better: 'lower',
      postamt: run1.scanners.total,
      peer: scannerMs.total,
      note: `spamd ${run1.scanners.spamd.toFixed(1)} + clamd ${run1.scanners.clamd.toFixed(1)} vs ${scannerMs.spamd.toFixed(1)} + ${scannerMs.clamd.toFixed(1)}: each message scanned once`,
    },
    {
      name: 'spamd CPU per message: with User: vs without (in-process client)',
      unit: 'ms',
      better: 'lower',
      postamt: rawSocket.scanners.spamd,
      peer: rawSocketNoUser.scanners.spamd,
      note: `${userSample.length} messages each; throughput ${rawSocket.rate.toFixed(2)} vs ${rawSocketNoUser.rate.toFixed(2)} msg/s`,
    },
  ];
  if (amavis && !amavis.error) {
    figures.push({
      name: `amavisd-new (${amavis.processes} processes): filter 2 processes vs amavisd`,
      unit: 'msg/s',
      better: 'higher',
      postamt: run2.rate,
      peer: amavis.rate,
      note: 'peer: amavisd-new, same rules, same clamd',
    });
    figures.push({
      name: 'CPU per message: filter (2 processes) + spamd vs amavisd-new',
      unit: 'ms',
      better: 'lower',
      postamt: run2.cpuMsPerMessage + run2.scanners.spamd,
      peer: amavis.cpuMsPerMessage,
      note: 'spamd measured during the filter run; clamd not counted on either side',
    });
  }
  const expectedViruses = messages.filter((_, i) => i % 20 === 15 || i % 20 === 16).length;
  const ok =
    rawBefore.viruses === expectedViruses &&
    run1.retries === 0 &&
    run2.retries === 0 &&
    run1.quarantined >= expectedViruses &&
    run2.quarantined === run1.quarantined;
  return {
    figures,
    ok,
    notes: [
      'throughput overhead = 1 − filter msg/s ÷ raw msg/s; raw = spamc ∥ clamd INSTREAM per message on the same scanners, same messages, same number in flight, the mean of the raw runs just before and after that filter run',
      "CPU share = the filter workers' CPU per message ÷ spamd + clamd CPU per message (process trees, /proc), the scanners measured over the three raw runs; on a CPU-bound machine throughput overhead ≈ that share",
      `each filter run first handles ${warmup.length} other messages of the same mix, unmeasured except for their own CPU (a fresh worker compiles its code); the scanners are warmed with ${Math.min(n, 40)} raw messages`,
      `raw runs: ${rawRuns.map((r) => r.rate.toFixed(2)).join(', ')} msg/s (before, between and after the filter runs); scanner CPU ${rawRuns.map((r) => r.scanners.total.toFixed(1)).join(', ')} ms/msg`,
      `${n} messages, ${(bytes / 1e6).toFixed(1)} MB; ${concurrency} in flight on every side; spamd --max-children=${concurrency}`,
      `raw found ${rawBefore.viruses} viruses and ${rawBefore.gtube} GTUBE; filter quarantined ${run1.quarantined} / ${run2.quarantined} messages`,
      ...(amavis?.error ? [`amavisd-new not compared: ${amavis.error}`] : []),
    ],
    details: { rawRuns, rawSocket, rawSocketNoUser, run1, run2, amavis, scannerMs },
  };
}
