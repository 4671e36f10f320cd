// Outbound relay rate: how many 5 KB messages per second each server hands to
// a remote SMTP server, here Postfix's smtp-sink on loopback (no TLS, one
// recipient per message, one destination). Both sides start with every message
// already queued and are timed from the moment delivery may begin until the
// sink has received all of them and the queue is empty:
// - Postamt: N spool files and `relay` jobs added while the queue is paused,
//   then 1 or 2 relay processes (one Redis) started and the queue resumed; the
//   route is a transport override `*=[127.0.0.1]:<sink>`.
// - Postfix: N messages injected with smtp-source into a private instance whose
//   smtpd puts them on hold, then released (postsuper -H ALL; postqueue -f);
//   relayhost = [127.0.0.1]:<sink>.
// Both may open `concurrency` sessions to the destination (Postfix
// default_destination_concurrency_limit, Postamt POSTAMT_RELAY_DESTINATION_CONCURRENCY)
// and both reuse connections (Postfix's connection cache, Postamt's session pool).
// Postamt's relay processes share the destination limit through Redis and
// each works on concurrency/workers messages at once (--jobs-per-worker).
// Checks: the sink counted exactly N new messages and nothing is left queued.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectRedis, Queues, Spool } from '@postamt/queue';
import { freePort, makeTempDir } from '@postamt/testkit';
import { onCleanup, removeDirLater } from '../lib/cleanup.mjs';
import { repoRoot, spoolCount, startBenchRedis } from '../lib/postamt.mjs';
import { startPostfix } from '../lib/postfix.mjs';
import { httpOk, requireProgram, runSync, smtpBanner, startChild, treeCpuSeconds } from '../lib/proc.mjs';
import { runSmtpSource } from '../lib/smtp-source.mjs';
import { now, waitUntil } from '../lib/timing.mjs';

export const description =
  'outbound relay rate (5 KB messages to a local smtp-sink), 1 and 2 relay workers vs Postfix';
export const peer = 'Postfix';

export const options = {
  messages: { type: 'string', default: '2000', description: 'messages per run' },
  size: { type: 'string', default: '5120', description: 'message size in bytes' },
  workers: {
    type: 'string',
    default: '1,2',
    description: 'comma-separated numbers of Postamt relay processes',
  },
  concurrency: {
    type: 'string',
    default: '20',
    description: 'sessions to the destination at once, both sides',
  },
  'jobs-per-worker': {
    type: 'string',
    default: '',
    description:
      'messages each relay process works on at once (default: --concurrency / workers, rounded up)',
  },
  only: { type: 'string', default: '', description: '"postamt" or "postfix" to run one side only' },
  timeout: { type: 'string', default: '600', description: 'seconds allowed for one run' },
};

const RCPT = 'user@remote.bench.test';

function positiveInt(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

/** Postfix's smtp-sink on 127.0.0.1:port; `count()` is the messages it received so far. */
async function startSmtpSink(port) {
  const bin = requireProgram('smtp-sink', 'apt-get install postfix');
  // -c prints "sess=N quit=N mesg=N" counters; -u is required as root.
  const child = spawn(bin, ['-u', 'postfix', '-c', `127.0.0.1:${port}`, '1024'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let mesg = 0;
  let sess = 0;
  let err = '';
  child.stdout.on('data', (d) => {
    const all = [...d.toString().matchAll(/mesg=(\d+)/g)];
    if (all.length) mesg = Number(all[all.length - 1][1]);
    const sessions = [...d.toString().matchAll(/sess=(\d+)/g)];
    if (sessions.length) sess = Number(sessions[sessions.length - 1][1]);
  });
  child.stderr.on('data', (d) => {
    if (err.length < 4096) err += d.toString();
  });
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  const stop = onCleanup('smtp-sink', async () => kill(), kill);
  await waitUntil('smtp-sink listening', async () => {
    if (child.exitCode !== null) throw Object.assign(new Error(`smtp-sink exited: ${err}`), { fatal: true });
    return smtpBanner(port);
  });
  // sess counts ended sessions, so it trails while connections are still open.
  return { count: () => mesg, sessions: () => sess, stop };
}

function message(i, size) {
  const head = [
    'From: Bench Sender <sender@bench.postamt.test>',
    `To: <${RCPT}>`,
    `Subject: relay bench ${i}`,
    `Message-ID: <relay-bench-${i}@bench.postamt.test>`,
    `Date: ${new Date().toUTCString().replace(/GMT$/, '+0000')}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join('\r\n');
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789 the quick brown fox jumps over it\r\n';
  let body = '';
  while (head.length + body.length + line.length <= size) body += line;
  const pad = 'x'.repeat(Math.max(0, size - head.length - body.length - 2));
  return Buffer.from(`${head}${body}${pad}\r\n`);
}

async function postamtRun(
  redis,
  sink,
  { workers, messages, size, concurrency, jobsPerWorker, timeoutMs, keep, log },
) {
  const data = makeTempDir('bench-relay');
  const removeData = removeDirLater(data, keep);
  await redis.redis.flushall();
  const spool = new Spool(data);
  await spool.init();
  const producer = connectRedis(redis.url, 'worker');
  const queues = new Queues(producer);
  const queue = queues.get('relay');
  const procs = [];
  try {
    await queue.pause();
    const receivedAt = new Date().toISOString();
    for (let i = 0; i < messages; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, messages - i) }, async (_, k) => {
          const id = await spool.put(
            {
              receivedAt,
              mailFrom: 'sender@bench.postamt.test',
              rcptTo: [{ address: RCPT }],
              source: 'submission',
              client: { ip: '127.0.0.1' },
              authUser: 'sender@bench.postamt.test',
              params: {},
            },
            message(i + k, size),
          );
          await queues.add('relay', id, { spoolId: id, recipients: [RCPT] });
        }),
      );
    }
    await spool.close();
    log(`  ${messages} messages spooled and queued (paused)`);
    for (let w = 0; w < workers; w++) {
      const metricsPort = await freePort();
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POSTAMT_'))),
        POSTAMT_BIND: '127.0.0.1',
        POSTAMT_LOG_LEVEL: 'warn',
        POSTAMT_DATA: data,
        POSTAMT_REDIS_URL: redis.url,
        POSTAMT_HOSTNAME: 'bench.postamt.test',
        POSTAMT_METRICS_PORT: String(metricsPort),
        POSTAMT_RELAY_TRANSPORTS: `*=[127.0.0.1]:${sink.port}`,
        // The same total parallelism whatever the number of processes.
        POSTAMT_RELAY_CONCURRENCY: String(jobsPerWorker ?? Math.ceil(concurrency / workers)),
        POSTAMT_RELAY_DESTINATION_CONCURRENCY: String(concurrency),
        // Postfix signs nothing; neither does Postamt here.
        POSTAMT_RELAY_DKIM: 'false',
      };
      const proc = startChild(
        `relay-${w}`,
        process.execPath,
        [join(repoRoot, 'services/relay/dist/main.js')],
        {
          env,
          cwd: repoRoot,
          logFile: join(data, `relay-${w}.log`),
        },
      );
      procs.push(proc);
      await waitUntil(`relay-${w} ready`, async () => {
        if (proc.gone()) throw Object.assign(new Error(`relay exited:\n${proc.logTail()}`), { fatal: true });
        return httpOk(metricsPort, '/readyz');
      });
    }
    const base = sink.count();
    const baseSessions = sink.sessions();
    const cpu0 = procs.reduce((s, p) => s + treeCpuSeconds(p.pid), 0);
    const t0 = now();
    await queue.resume();
    await waitUntil(
      'all messages at the sink and the spool empty',
      async () => sink.count() - base >= messages && spoolCount(data) === 0,
      { timeoutMs, intervalMs: 20 },
    );
    const seconds = now() - t0;
    const cpu = procs.reduce((s, p) => s + treeCpuSeconds(p.pid), 0) - cpu0;
    // Stopped relays QUIT their parked sessions, so the sink has counted them all.
    for (const p of procs.splice(0)) await p.stop();
    await new Promise((r) => setTimeout(r, 500));
    const received = sink.count() - base;
    const sessions = sink.sessions() - baseSessions;
    const problems = [];
    if (received !== messages) problems.push(`sink received ${received} messages, expected ${messages}`);
    return {
      server: 'postamt',
      workers,
      sessions,
      seconds,
      rate: messages / seconds,
      cpuMsPerMsg: (cpu * 1000) / messages,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    for (const p of procs) await p.stop();
    await queues.close();
    producer.disconnect();
    await removeData();
  }
}

async function postfixRun(sink, { messages, size, concurrency, timeoutMs, keep, log }) {
  const port = await freePort();
  const pf = await startPostfix({
    port,
    processLimit: Math.max(100, concurrency * 2),
    keep,
    extraMainCf: [
      '# relay bench: everything goes to the sink, over SMTP, no TLS offered there.',
      `relayhost = [127.0.0.1]:${sink.port}`,
      'default_transport = smtp',
      'relay_transport = smtp',
      `default_destination_concurrency_limit = ${concurrency}`,
      `initial_destination_concurrency = ${concurrency}`,
      'smtp_tls_security_level = none',
      'smtp_dns_support_level = disabled',
      '',
    ].join('\n'),
    extraMasterCf: 'smtp      unix  -       -       n       -       -       smtp\n',
  });
  const configDir = join(pf.dir, 'etc');
  try {
    const src = await runSmtpSource({
      port,
      sessions: concurrency,
      messages,
      size,
      from: 'sender@bench.postfix.test',
      to: RCPT,
      timeoutMs,
    });
    if (src.code !== 0) throw new Error(`smtp-source failed: ${src.output}`);
    await waitUntil('all messages on hold', async () => pf.queueCounts().hold === messages, {
      timeoutMs: 60_000,
    });
    log(`  ${messages} messages on hold in Postfix`);
    const base = sink.count();
    const baseSessions = sink.sessions();
    const cpu0 = pf.cpuSeconds();
    const t0 = now();
    const rel = runSync(requireProgram('postsuper'), ['-c', configDir, '-H', 'ALL']);
    if (rel.code !== 0) throw new Error(`postsuper -H failed: ${rel.out}`);
    runSync(requireProgram('postqueue'), ['-c', configDir, '-f']);
    const empty = () => {
      const q = pf.queueCounts();
      return q.hold + q.deferred + q.active + q.incoming + q.maildrop === 0;
    };
    await waitUntil(
      'all messages at the sink and the queue empty',
      async () => sink.count() - base >= messages && empty(),
      {
        timeoutMs,
        intervalMs: 20,
      },
    );
    const seconds = now() - t0;
    const cpu = pf.cpuSeconds() - cpu0;
    // Postfix closes cached connections after smtp_connection_cache_time_limit (2s).
    await new Promise((r) => setTimeout(r, 3000));
    const received = sink.count() - base;
    const sessions = sink.sessions() - baseSessions;
    const problems = [];
    if (received !== messages) problems.push(`sink received ${received} messages, expected ${messages}`);
    return {
      server: 'postfix',
      version: pf.version,
      sessions,
      seconds,
      rate: messages / seconds,
      cpuMsPerMsg: (cpu * 1000) / messages,
      ok: problems.length === 0,
      problems,
    };
  } catch (err) {
    throw new Error(`${err.message}\n--- maillog:\n${pf.logTail(20)}`);
  } finally {
    await pf.stop();
  }
}

export async function run(opts, { log, keep = false }) {
  const messages = positiveInt('messages', opts.messages);
  const size = positiveInt('size', opts.size);
  const concurrency = positiveInt('concurrency', opts.concurrency);
  const timeoutMs = positiveInt('timeout', opts.timeout) * 1000;
  const workerList = opts.workers.split(',').map((w) => positiveInt('workers', w.trim()));
  if (opts.only && !['postamt', 'postfix'].includes(opts.only))
    throw new Error('--only is postamt or postfix');
  const jobsPerWorker = opts['jobs-per-worker']
    ? positiveInt('jobs-per-worker', opts['jobs-per-worker'])
    : null;
  const params = { messages, size, concurrency, jobsPerWorker, timeoutMs, keep, log };

  const sinkPort = await freePort();
  const sink = { ...(await startSmtpSink(sinkPort)), port: sinkPort };
  const runs = [];
  const notes = [];
  let redis = null;
  try {
    if (opts.only !== 'postamt') {
      log(`postfix, ${messages} msgs, ${concurrency} sessions …`);
      runs.push(
        await postfixRun(sink, params).catch((err) => ({
          server: 'postfix',
          ok: false,
          problems: [err.message],
        })),
      );
    }
    if (opts.only !== 'postfix') {
      redis = await startBenchRedis({ keep });
      for (const workers of workerList) {
        log(`postamt, ${workers} relay worker(s), ${messages} msgs, ${concurrency} sessions …`);
        runs.push(
          await postamtRun(redis, sink, { ...params, workers }).catch((err) => ({
            server: 'postamt',
            workers,
            ok: false,
            problems: [err.message],
          })),
        );
      }
    }
  } finally {
    await redis?.stop();
    await sink.stop();
  }
  for (const r of runs) {
    if (r.rate)
      log(
        `  ${r.server}${r.workers ? ` ×${r.workers}` : ''}: ${r.rate.toFixed(1)} msg/s, ${r.seconds.toFixed(2)} s, ${r.cpuMsPerMsg.toFixed(2)} ms CPU/msg, ${r.sessions} SMTP sessions`,
      );
    for (const p of r.problems) notes.push(`${r.server}${r.workers ? ` ×${r.workers}` : ''}: ${p}`);
  }
  const postfix = runs.find((r) => r.server === 'postfix' && r.ok);
  const figures = [];
  for (const r of runs.filter((x) => x.server === 'postamt' && x.ok)) {
    figures.push({
      name: `relayed, ${r.workers} relay worker${r.workers > 1 ? 's' : ''}`,
      unit: 'msg/s',
      better: 'higher',
      postamt: r.rate,
      peer: postfix?.rate,
    });
    figures.push({
      name: `CPU per message, ${r.workers} relay worker${r.workers > 1 ? 's' : ''}`,
      unit: 'ms',
      better: 'lower',
      postamt: r.cpuMsPerMsg,
      peer: postfix?.cpuMsPerMsg,
      note: 'relay processes vs the whole Postfix tree',
    });
  }
  notes.push(
    `${messages} messages of ${size} bytes, one recipient each, one destination, ${concurrency} sessions at most; Postamt relays work on ${jobsPerWorker ?? `${concurrency}/workers`} messages each at once; the sink is Postfix smtp-sink`,
  );
  return {
    figures,
    notes,
    ok: runs.every((r) => r.ok),
    details: { runs, postfixVersion: postfix?.version },
  };
}
