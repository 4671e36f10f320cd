// SMTP intake accept rate: how many 5 KB messages per second each server
// accepts when smtp-source opens `sessions` parallel sessions, one message per
// session. A message counts once it is durable and queued:
// - Postamt: spool/<id>.msg written and fsynced, `filter` job in Redis;
// - Postfix: queue file written and fsynced by cleanup, parked in the hold
//   queue (nothing is ever delivered).
// Each run starts its server fresh (empty spool/queue) and verifies afterwards
// that exactly the messages sent are there.
//
// Two modes (--dns): `off` — the client is trusted (mynetworks) on both sides,
// no DNS-based check runs; `on` — the classic inbound checks on both sides,
// answered by one local DNS server (lib/bench-dns.mjs): reverse DNS of the
// client with forward confirmation, HELO name, sender domain, a DNSBL, FQDN
// syntax, unknown recipients. Postfix runs in its own network namespace
// (lib/netns.mjs) whose /etc/resolv.conf names that server, and smtp-source
// reaches it over a veth pair; Postamt gets the server in POSTAMT_DNS_SERVERS.
// Neither side greylists; SPF is off in Postamt (Postfix has none built in).
// Postamt caches DNS answers by their TTL (as the issue asks); Postfix asks
// the server each time (no caching resolver in the namespace), as it would
// without a local cache.
import { loadavg } from 'node:os';
import { queueName } from '@postamt/queue';
import { freePort } from '@postamt/testkit';
import { reverseName, startBenchDns } from '../lib/bench-dns.mjs';
import { createNetns } from '../lib/netns.mjs';
import {
  intakeEntry,
  queueCounts,
  resetAndSeed,
  spoolCount,
  startBenchRedis,
  startIntake,
} from '../lib/postamt.mjs';
import { startPostfix } from '../lib/postfix.mjs';
import { runSmtpSource } from '../lib/smtp-source.mjs';
import { median } from '../lib/stats.mjs';
import { waitUntil, withTimeout } from '../lib/timing.mjs';

export const description = 'SMTP intake accept rate (5 KB messages, 10 and 50 sessions) vs Postfix';
export const peer = 'Postfix';

export const options = {
  messages: { type: 'string', default: '2000', description: 'messages per run' },
  sessions: { type: 'string', default: '10,50', description: 'comma-separated parallel session counts' },
  size: { type: 'string', default: '5120', description: 'message size in bytes (smtp-source -l)' },
  repeat: {
    type: 'string',
    default: '1',
    description: 'runs per server and session count; the median is shown',
  },
  only: { type: 'string', default: '', description: '"postamt" or "postfix" to run one side only' },
  dns: {
    type: 'string',
    default: 'off,on',
    description:
      'modes: "off" (trusted client, no DNS checks), "on" (DNS-based checks against a local DNS server)',
  },
  timeout: { type: 'string', default: '600', description: 'seconds allowed for one smtp-source run' },
  workers: {
    type: 'string',
    default: '1',
    description:
      'comma-separated POSTAMT_SMTP_WORKERS values: Postamt runs once per value, Postfix once (e.g. 1,2)',
  },
};

const FROM = 'sender@bench.example';
const DOMAIN = 'example.test';
const RCPT = `user@${DOMAIN}`;
const HELO = 'client.bench.example';
const DNSBL = 'bl.bench.example';

/** The `on` mode's world: FCrDNS for both client addresses, the sender domain, an empty DNSBL. */
function benchZone(clientIps) {
  const zone = {
    [HELO]: clientIps.map((address) => ({ type: 'A', address })),
    'bench.example': [{ type: 'MX', exchange: 'mx.bench.example', priority: 10 }],
    'mx.bench.example': [{ type: 'A', address: '192.0.2.25' }],
  };
  for (const ip of clientIps) zone[reverseName(ip)] = [{ type: 'PTR', name: HELO }];
  return zone;
}

/** Postfix's equivalent of Postamt's default MX checks (smtpd_delay_reject: all answered at RCPT). */
const POSTFIX_CHECKS = [
  'reject_invalid_helo_hostname',
  'reject_non_fqdn_helo_hostname',
  'reject_unknown_helo_hostname',
  'reject_unknown_client_hostname',
  'reject_non_fqdn_sender',
  'reject_unknown_sender_domain',
  'reject_non_fqdn_recipient',
  `reject_rbl_client ${DNSBL}`,
  'reject_unlisted_recipient',
  'reject_unauth_destination',
  'permit',
].join(', ');

/** Sets up the `on` mode once: namespace, DNS server; returns how each side is started. */
async function dnsWorld() {
  const ns = createNetns();
  let dns;
  try {
    ns.etcFile('resolv.conf', `nameserver ${ns.hostIp}\noptions timeout:2 attempts:2\n`);
    dns = await startBenchDns({ host: ns.hostIp, records: benchZone(['127.0.0.1', ns.hostIp]) });
  } catch (err) {
    await ns.stop();
    throw err;
  }
  return {
    postfix: {
      netns: ns,
      listenAddress: ns.nsIp,
      recipientRestrictions: POSTFIX_CHECKS,
      extraMainCf: 'smtpd_delay_reject = yes\nsmtpd_helo_required = yes\n',
    },
    postfixHost: ns.nsIp,
    postamtEnv: {
      // Not trusted: every check runs (benchEnv's 127.0.0.0/8 would skip the DNS ones).
      POSTAMT_MYNETWORKS: '192.0.2.255/32',
      POSTAMT_DNS_SERVERS: dns.address,
      POSTAMT_DNSBL_SITES: DNSBL,
      POSTAMT_CHECK_GREYLIST: 'off',
      POSTAMT_CHECK_SPF: 'off',
    },
    dnsQueries: () => dns.queries(),
    async stop() {
      await dns.stop();
      await ns.stop();
    },
  };
}

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** After the last 250 every message should already be there; allow a moment before calling it a mismatch. */
async function settle(count, expected) {
  await waitUntil('queue counts to reach the messages sent', async () => (await count()) >= expected, {
    timeoutMs: 5000,
    intervalMs: 100,
  }).catch(() => {});
  return count();
}

async function postfixRun({ sessions, messages, size, timeoutMs, keep, world }) {
  const pf = await startPostfix({
    port: await freePort(),
    processLimit: Math.max(100, sessions * 2),
    keep,
    ...(world?.postfix ?? {}),
  });
  try {
    const cpu0 = pf.cpuSeconds();
    const load = await runSmtpSource({
      port: pf.port,
      host: pf.host,
      sessions,
      messages,
      size,
      from: FROM,
      to: RCPT,
      timeoutMs,
    });
    const held = await settle(() => pf.queueCounts().hold, messages);
    const counts = pf.queueCounts();
    const cpu = pf.cpuSeconds() - cpu0;
    const others = Object.entries(counts).filter(([q, n]) => q !== 'hold' && n > 0);
    const problems = [];
    if (!load.ok)
      problems.push(`smtp-source exit ${load.code}: ${load.output.split('\n').slice(-3).join(' | ')}`);
    if (held !== messages) problems.push(`hold queue has ${held} of ${messages}`);
    if (others.length)
      problems.push(`unexpected queue files: ${others.map(([q, n]) => `${q}=${n}`).join(' ')}`);
    if (problems.length) problems.push(`maillog: ${pf.logTail(3).replace(/\n/g, ' | ')}`);
    return {
      server: 'postfix',
      version: pf.version,
      rate: load.rate,
      seconds: load.seconds,
      cpuSeconds: cpu,
      cpuMsPerMsg: (cpu * 1000) / messages,
      counts,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await pf.stop();
  }
}

async function postamtRun(redis, { sessions, messages, size, timeoutMs, keep, world, workers }) {
  // Bounded: a worker-mode Redis client would otherwise wait forever for a dead server.
  await withTimeout(
    resetAndSeed(redis.redis, { domain: DOMAIN, user: RCPT }),
    15_000,
    'reset and seed Redis',
  );
  const intake = await startIntake({
    redisUrl: redis.url,
    keep,
    extraEnv: {
      ...(world?.postamtEnv ?? {}),
      POSTAMT_SMTP_WORKERS: String(workers),
      // Postfix runs here without postscreen: no pregreet wait on either side.
      POSTAMT_SMTP_PREGREET_EXCEPTIONS: '127.0.0.0/8,::1/128',
    },
  });
  try {
    const cpuIntake0 = intake.cpuSeconds();
    const cpuRedis0 = redis.cpuSeconds();
    const load = await runSmtpSource({
      port: intake.smtpPort,
      sessions,
      messages,
      size,
      from: FROM,
      to: RCPT,
      timeoutMs,
    });
    const spooled = await settle(() => spoolCount(intake.data), messages);
    const jobs = await withTimeout(
      queueCounts(redis.redis, queueName('filter')),
      15_000,
      'filter queue counts',
    );
    const cpuIntake = intake.cpuSeconds() - cpuIntake0;
    const cpuRedis = redis.cpuSeconds() - cpuRedis0;
    const problems = [];
    if (!load.ok)
      problems.push(`smtp-source exit ${load.code}: ${load.output.split('\n').slice(-3).join(' | ')}`);
    if (spooled !== messages) problems.push(`spool has ${spooled} of ${messages} .msg files`);
    if (jobs.waiting !== messages) problems.push(`filter queue has ${jobs.waiting} waiting of ${messages}`);
    if (!intake.alive()) problems.push('intake died during the run');
    if (problems.length) problems.push(`intake log: ${intake.logTail(3).replace(/\n/g, ' | ')}`);
    return {
      server: 'postamt',
      workers,
      rate: load.rate,
      seconds: load.seconds,
      cpuSeconds: cpuIntake + cpuRedis,
      cpuMsPerMsg: ((cpuIntake + cpuRedis) * 1000) / messages,
      intakeCpuMsPerMsg: (cpuIntake * 1000) / messages,
      redisCpuMsPerMsg: (cpuRedis * 1000) / messages,
      counts: { spool: spooled, filterQueue: jobs },
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await intake.stop();
  }
}

export async function run(opts, { log, keep = false }) {
  const messages = positiveInt('messages', opts.messages);
  const size = positiveInt('size', opts.size);
  const repeat = positiveInt('repeat', opts.repeat);
  const timeoutMs = positiveInt('timeout', opts.timeout) * 1000;
  const sessionList = opts.sessions.split(',').map((s) => positiveInt('sessions', s.trim()));
  if (opts.only && !['postamt', 'postfix'].includes(opts.only))
    throw new Error('--only is postamt or postfix');
  const sides = opts.only ? [opts.only] : ['postfix', 'postamt'];
  const workerList = opts.workers.split(',').map((w) => positiveInt('workers', w.trim()));
  // Postfix once, Postamt once per worker count.
  const variants = sides.flatMap((side) =>
    side === 'postfix' ? [{ side, workers: null }] : workerList.map((workers) => ({ side, workers })),
  );
  // The figures' names stay as before when only the default (one process) runs.
  const workersLabel = (w) =>
    workerList.length === 1 && w === 1 ? '' : `, ${w} worker${w === 1 ? '' : 's'}`;
  const modes = opts.dns.split(',').map((m) => m.trim());
  if (modes.some((m) => !['off', 'on'].includes(m))) throw new Error('--dns is off, on or off,on');

  const runs = [];
  const notes = [];
  let redis = null;
  let redisVersion = null;
  try {
    if (sides.includes('postamt')) {
      intakeEntry(); // fails early with a clear message when the intake is not built
      redis = await startBenchRedis({ keep });
      redisVersion = redis.version;
    }
    for (const mode of modes) {
      const world = mode === 'on' ? await dnsWorld() : null;
      try {
        for (let r = 0; r < repeat; r++) {
          for (const sessions of sessionList) {
            for (const { side, workers } of variants) {
              const params = { sessions, messages, size, timeoutMs, keep, world, workers };
              const label = `${side}${workers === null ? '' : workersLabel(workers)}, DNS checks ${mode}, ${sessions} sessions, ${messages} msgs${repeat > 1 ? `, run ${r + 1}` : ''}`;
              log(`${label} …`);
              const load1 = loadavg()[0];
              let result;
              try {
                result = side === 'postfix' ? await postfixRun(params) : await postamtRun(redis, params);
              } catch (err) {
                result = { server: side, ok: false, problems: [`failed: ${err.message}`] };
              }
              Object.assign(result, {
                workers,
                mode,
                sessions,
                messages,
                size,
                repeat: r + 1,
                loadavg1Before: load1,
              });
              runs.push(result);
              log(
                result.rate
                  ? `  ${result.rate.toFixed(1)} msg/s, ${result.seconds.toFixed(2)} s, ${result.cpuMsPerMsg.toFixed(2)} ms CPU/msg${result.ok ? '' : '  (CHECK FAILED)'}`
                  : '  failed',
              );
              for (const p of result.problems) {
                log(`  ! ${p}`);
                notes.push(`${label}: ${p}`);
              }
            }
          }
        }
        if (world) notes.push(`DNS checks on: the local DNS server answered ${world.dnsQueries()} queries`);
      } finally {
        await world?.stop();
      }
    }
  } finally {
    await redis?.stop();
  }

  // Figures: the median over repeats of the runs that passed their count check.
  const pick = (server, mode, sessions, key, workers = null) =>
    median(
      runs
        .filter(
          (x) =>
            x.server === server &&
            x.mode === mode &&
            x.sessions === sessions &&
            (workers === null || x.workers === workers) &&
            x.ok,
        )
        .map((x) => x[key]),
    );
  const figures = [];
  for (const mode of modes) {
    for (const sessions of sessionList) {
      for (const workers of workerList) {
        figures.push({
          name: `accept rate, DNS checks ${mode}, ${sessions} sessions${workersLabel(workers)}`,
          unit: 'msg/s',
          better: 'higher',
          postamt: pick('postamt', mode, sessions, 'rate', workers),
          peer: pick('postfix', mode, sessions, 'rate'),
        });
      }
    }
  }
  for (const mode of modes) {
    for (const sessions of sessionList) {
      for (const workers of workerList) {
        const intake = pick('postamt', mode, sessions, 'intakeCpuMsPerMsg', workers);
        const redisCpu = pick('postamt', mode, sessions, 'redisCpuMsPerMsg', workers);
        figures.push({
          name: `server CPU per msg, DNS checks ${mode}, ${sessions} sessions${workersLabel(workers)}`,
          unit: 'ms',
          better: 'lower',
          postamt: pick('postamt', mode, sessions, 'cpuMsPerMsg', workers),
          peer: pick('postfix', mode, sessions, 'cpuMsPerMsg'),
          note: intake === null ? '' : `intake ${intake.toFixed(2)} + redis ${redisCpu.toFixed(2)}`,
        });
      }
    }
  }
  const failed = runs.filter((x) => !x.ok).length;
  if (failed)
    notes.unshift(`${failed} of ${runs.length} runs failed their checks and are left out of the figures`);
  notes.push(
    'one SMTP session per message (smtp-source default); wall clock of the smtp-source run; ' +
      'CPU from /proc: Postamt = intake (supervisor and workers) + redis-server, Postfix = master and all its children',
  );
  return {
    figures,
    notes,
    ok: failed === 0,
    details: {
      options: { messages, size, repeat, sessions: sessionList, sides, modes, workers: workerList },
      redisVersion,
      runs,
    },
  };
}
