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
// untrained, so neither side pays for it). Sender authentication (DKIM/SPF/
// DMARC) is off in the filter: it needs DNS answers, and it is not a scanner.
// Raw runs come before, between and after the filter runs, to show drift on
// a shared machine; each filter run is compared with its two neighbours.
// Throughput on a loaded machine is noisy; CPU per message is the steadier
// measure of what the orchestration costs.
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
function spamdSocket(port, message) {
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
      sock.write(`SYMBOLS SPAMC/1.5\r\nContent-length: ${message.length}\r\nUser: ${SITE_USER}\r\n\r\n`);
      sock.end(message);
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

async function runRaw({ files, messages, concurrency, clamd, spamd, spamcBin, socket = false }) {
  let viruses = 0;
  let gtube = 0;
  const t0 = now();
  await pool(messages, concurrency, async (m, i) => {
    const [virus, rules] = await Promise.all([
      instream(clamd.port, m.body),
      socket ? spamdSocket(spamd.port, m.body) : spamc(spamcBin, spamd.port, files[i]),
    ]);
    if (virus.endsWith('FOUND')) viruses++;
    if (rules.includes('GTUBE')) gtube++;
  });
  const seconds = now() - t0;
  return { seconds, rate: messages.length / seconds, viruses, gtube };
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
  concurrency,
  workers,
  clamd,
  spamd,
  keep,
  log,
  profile,
}) {
  await redis.flushall();
  const directory = new Directory(redis);
  await directory.addDomain(DOMAIN);
  for (const address of USERS) await directory.putUser({ address, password: 'x' });
  const data = makeTempDir('bench-filter');
  const removeData = removeDirLater(data, keep);
  const spool = new Spool(data);
  await spool.init();
  const ids = [];
  for (const m of messages) {
    ids.push(
      await spool.put(
        {
          receivedAt: new Date().toISOString(),
          mailFrom: 'sender@example.org',
          rcptTo: m.to.map((address) => ({ address })),
          source: 'mx',
          client: { ip: '192.0.2.1' },
          params: {},
        },
        m.body,
      ),
    );
  }
  const per = Math.max(1, Math.round(concurrency / workers));
  const procs = [];
  for (let w = 0; w < workers; w++)
    procs.push(await startWorker({ data, redisUrl, clamd, spamd, concurrency: per, index: w, profile }));
  const cpu0 = procs.map((p) => treeCpuSeconds(p.pid));
  const queues = new Queues(redis);
  const t0 = now();
  for (const id of ids) await queues.add('filter', id, { spoolId: id });
  await waitUntil(
    `${messages.length} messages filtered`,
    async () => {
      for (const p of procs) if (p.gone()) throw fatal(`a filter worker died:\n${p.logTail()}`);
      return spoolCount(data) === 0;
    },
    { timeoutMs: 1_800_000, intervalMs: 50 },
  );
  const seconds = now() - t0;
  const cpu = procs.reduce((s, p, i) => s + (treeCpuSeconds(p.pid) - cpu0[i]), 0);
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
  const spamdPid = Number(readFileSync(join(spamd.dir, 'spamd.pid'), 'utf8'));

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
    return runRaw({ files, messages, concurrency, clamd, spamd, spamcBin });
  };
  await runRaw({
    files: files.slice(0, 40),
    messages: messages.slice(0, 40),
    concurrency,
    clamd,
    spamd,
    spamcBin,
  });

  if (opts.profile) {
    mkdirSync(opts.profile, { recursive: true });
    const r = await runFilter({
      redis: redis.redis,
      redisUrl: redis.url,
      messages,
      concurrency,
      workers: 1,
      clamd,
      spamd,
      keep,
      log,
      profile: opts.profile,
    });
    log(`profile written to ${opts.profile} (open the .cpuprofile in Chrome DevTools)`);
    const figure = {
      name: 'filter CPU per message, 1 process (profiled)',
      unit: 'ms',
      better: 'lower',
      postamt: r.cpuMsPerMessage,
      peer: null,
      note: '',
    };
    return { figures: [figure], ok: true, notes: [], details: { profiled: r } };
  }
  // Raw runs between the filter runs: each filter run is compared with the
  // mean of the raw runs just before and after it (a shared machine drifts).
  const spamdCpu = () => treeCpuSeconds(spamdPid);
  const c0 = spamdCpu();
  const rawRuns = [await raw('1 of 3')];
  const spamdCpuPerMessage = ((spamdCpu() - c0) * 1000) / n;
  const filterRun = (workers) =>
    runFilter({
      redis: redis.redis,
      redisUrl: redis.url,
      messages,
      concurrency,
      workers,
      clamd,
      spamd,
      keep,
      log,
    });
  const run1 = await filterRun(1);
  rawRuns.push(await raw('2 of 3'));
  const run2 = await filterRun(2);
  rawRuns.push(await raw('3 of 3'));
  log(`raw: ${rawRuns.map((r) => r.rate.toFixed(2)).join(', ')} msg/s`);
  log('raw with an in-process SPAMC client instead of spamc');
  const rawSocket = await runRaw({ files, messages, concurrency, clamd, spamd, spamcBin, socket: true });
  const [rawBefore] = rawRuns;
  const raw1 = (rawRuns[0].rate + rawRuns[1].rate) / 2;
  const raw2 = (rawRuns[1].rate + rawRuns[2].rate) / 2;

  let amavis = null;
  if (!opts['skip-amavis']) {
    amavis = await runAmavis({ messages, files, concurrency, clamd, spamd, keep, log }).catch((err) => ({
      error: err.message,
    }));
    if (amavis?.error) log(`amavisd-new: ${amavis.error}`);
  }

  const overhead = (r, rawRate) => `${((1 - r.rate / rawRate) * 100).toFixed(1)} % overhead`;
  const figures = [
    {
      name: `filter, 1 process × ${concurrency} jobs`,
      unit: 'msg/s',
      better: 'higher',
      postamt: run1.rate,
      peer: raw1,
      note: overhead(run1, raw1),
    },
    {
      name: `filter, 2 processes × ${Math.max(1, Math.round(concurrency / 2))} jobs`,
      unit: 'msg/s',
      better: 'higher',
      postamt: run2.rate,
      peer: raw2,
      note: overhead(run2, raw2),
    },
    {
      name: 'filter, 2 processes vs raw with an in-process SPAMC client',
      unit: 'msg/s',
      better: 'higher',
      postamt: run2.rate,
      peer: rawSocket.rate,
      note: `${overhead(run2, rawSocket.rate)} (raw run last)`,
    },
    {
      name: 'filter CPU per message, 1 process',
      unit: 'ms',
      better: 'lower',
      postamt: run1.cpuMsPerMessage,
      peer: spamdCpuPerMessage,
      note: 'peer: spamd CPU per message (raw run)',
    },
    {
      name: 'filter CPU per message, 2 processes',
      unit: 'ms',
      better: 'lower',
      postamt: run2.cpuMsPerMessage,
      peer: spamdCpuPerMessage,
      note: 'peer: spamd CPU per message (raw run)',
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
      postamt: run2.cpuMsPerMessage + spamdCpuPerMessage,
      peer: amavis.cpuMsPerMessage,
      note: 'clamd not counted on either side',
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
      `raw runs: ${rawRuns.map((r) => r.rate.toFixed(2)).join(', ')} msg/s (before, between and after the filter runs); each filter run is compared with the mean of its neighbours`,
      `${n} messages, ${(bytes / 1e6).toFixed(1)} MB; ${concurrency} in flight on every side; spamd --max-children=${concurrency}`,
      `raw found ${rawBefore.viruses} viruses and ${rawBefore.gtube} GTUBE; filter quarantined ${run1.quarantined} / ${run2.quarantined} messages`,
      ...(amavis?.error ? [`amavisd-new not compared: ${amavis.error}`] : []),
    ],
    details: { rawRuns, rawSocket, run1, run2, amavis, spamdCpuPerMessage },
  };
}
