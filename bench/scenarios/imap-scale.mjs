// IMAP at scale (issue 8): Postamt's imap service next to a private Dovecot
// over the same Maildir (hard-linked copies of one cached folder), in one run,
// on loopback. For each folder size (--sizes, default 10,000 and 100,000):
//   - SELECT INBOX + UID FETCH 1:* (FLAGS), FETCH 1:* (ENVELOPE),
//     UID SEARCH SUBJECT "invoice", SEARCH TEXT "needle", each timed alone
//     (LOGIN is not timed), in three states: "first" (server fresh, no index
//     on either side), "cold" (server restarted, its index files kept on disk,
//     OS page cache kept unless --drop-caches) and "warm" (median of --repeat
//     later sessions). Sides take turns step by step, so load on the shared
//     machine hits both alike.
//   - resync after 100 changes: a client notes the folder state and leaves,
//     another session flags 50 messages and expunges 50, the client comes
//     back. Timed: the full resync (SELECT + UID FETCH 1:* (FLAGS) + UID
//     SEARCH ALL) and, when both servers advertise QRESYNC, the one round trip
//     of RFC 7162 (ENABLE QRESYNC + SELECT INBOX (QRESYNC (uidvalidity modseq))).
//   - on the first size only: resident memory of each server (RSS and PSS
//     summed over its processes: Dovecot's master and every child, Postamt's
//     imap process) with 1, 100, 1,000 and 10,000 idle connections (LOGIN,
//     SELECT INBOX, IDLE), the slope per connection, and the time until the
//     last idle client hears EXISTS after an APPEND from another session.
// Checks: counts of every answer, both sides find the same messages, QRESYNC
// reports the 50 vanished UIDs, and every idle client hears the new message.
import { argon2Sync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { makeTempDir } from '@postamt/testkit';
import { removeDirLater } from '../lib/cleanup.mjs';
import { start as startDovecot } from '../lib/dovecot.mjs';
import { ImapClient } from '../lib/imap-client.mjs';
import { addIdleFigures, load, runIdle, setSize, toSet } from '../lib/imap-idle.mjs';
import { ensureCorpus, linkCopy, readAll, SUBJECT_WORD, TEXT_WORD } from '../lib/maildir-corpus.mjs';
import { resetAndSeed, startBenchRedis, startImap } from '../lib/postamt.mjs';
import { runSync } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { now, withTimeout } from '../lib/timing.mjs';

export const description =
  'IMAP at scale: 10k/100k-message folders cold+warm, QRESYNC resync, memory of 1–10,000 idle clients vs Dovecot';
export const peer = 'Dovecot';
// Times: Dovecot / Postamt, so > 1 means Postamt is faster (or smaller).
export const ratioOrder = 'peer/postamt';

export const options = {
  sizes: {
    type: 'string',
    default: '10000,100000',
    description: 'folder sizes, comma-separated ("": none, with --idle-messages)',
  },
  repeat: { type: 'string', default: '3', description: 'warm sessions per server and size' },
  connections: {
    type: 'string',
    default: '1,100,1000,10000',
    description: 'idle-connection steps for the memory figures ("0": skip)',
  },
  'idle-messages': {
    type: 'string',
    default: '',
    description: 'hold the idle connections on an INBOX of this many messages (default: the first size)',
  },
  'idle-sides': {
    type: 'string',
    default: 'dovecot,postamt',
    description: 'servers for the idle-connection figures with --idle-messages',
  },
  sources: { type: 'string', default: '8', description: 'loopback source addresses for idle clients' },
  cache: {
    type: 'string',
    default: '/var/tmp/postamt-bench',
    description: 'where generated folders are kept between runs',
  },
  'drop-caches': {
    type: 'boolean',
    default: false,
    description: 'drop the OS page cache before "first" and "cold" sessions (root)',
  },
  timeout: { type: 'string', default: '1800', description: 'seconds allowed for one step' },
};

const USER = { address: 'bench@example.test', domain: 'example.test', local: 'bench' };
const PASSWORD = 'bench-password';
const CHANGES = 50; // flagged, and as many expunged: 100 changes

const OPS = [
  ['select', 'SELECT + UID FETCH 1:* (FLAGS)'],
  ['envelope', 'FETCH 1:* (ENVELOPE)'],
  ['subject', `UID SEARCH SUBJECT "${SUBJECT_WORD}"`],
  ['text', `SEARCH TEXT "${TEXT_WORD}"`],
];
const PHASES = [
  ['first', 'first: no index yet'],
  ['cold', 'cold: restarted, index on disk'],
  ['warm', 'warm'],
];

function positiveInts(name, value) {
  const list = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error(`--${name}: expected integers, got ${value}`);
  return list;
}

/**
 * An argon2id hash with light parameters (m=4 MiB, t=1) in the
 * `{ARGON2ID}$argon2id$…` form both servers verify: 10,000 logins per side
 * must not spend minutes hashing, and both sides pay the same cost anyway.
 */
function lightArgon2Hash(password) {
  const salt = randomBytes(16);
  const params = { memory: 4096, passes: 1, parallelism: 1 };
  const tag = argon2Sync('argon2id', { message: password, nonce: salt, tagLength: 32, ...params });
  const b64 = (b) => b.toString('base64').replace(/=+$/, '');
  return `{ARGON2ID}$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(tag)}`;
}

/** Dovecot settings for 10,000+ concurrent sessions of one user from loopback. */
function dovecotScaleConf(maxConnections) {
  const procs = maxConnections + 500;
  return `
# bench/scenarios/imap-scale.mjs: room for ${maxConnections} concurrent sessions of one user
default_process_limit = ${procs}
default_client_limit = ${procs * 2}
mail_max_userip_connections = ${maxConnections + 100}
service imap {
  process_limit = ${procs}
}
service imap-login {
  process_limit = ${procs}
}
service anvil {
  client_limit = ${procs * 3 + 10}
}
`;
}

function dropCaches() {
  runSync('sync', []);
  return runSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']).code === 0;
}

const untagged = (r, prefix) => r.lines.filter((l) => l.startsWith(prefix));
const searchHits = (r) =>
  untagged(r, '* SEARCH')
    .flatMap((l) => l.slice(8).trim().split(' ').filter(Boolean))
    .map(Number)
    .sort((a, b) => a - b);

async function timed(fn) {
  const t0 = now();
  const r = await fn();
  return { r, ms: (now() - t0) * 1000 };
}

async function session(server) {
  const c = await ImapClient.connect({ port: server.port, timeoutMs: 1_800_000 });
  await c.login(USER.address, PASSWORD);
  return c;
}

/** The four operations on a fresh session; returns { ms: { op → ms }, hits, problems }. */
async function runOps(server, expected) {
  const c = await session(server);
  const ms = {};
  const problems = [];
  const hits = {};
  try {
    const sel = await timed(async () => {
      const s = await c.command('SELECT INBOX', { keep: true });
      const f = await c.command('UID FETCH 1:* (FLAGS)');
      return { exists: Number(/^\* (\d+) EXISTS/m.exec(s.lines.join('\n'))?.[1]), fetched: f.count };
    });
    ms.select = sel.ms;
    if (sel.r.exists !== expected || sel.r.fetched < expected)
      problems.push(`SELECT: ${sel.r.exists} EXISTS, ${sel.r.fetched} FLAGS, expected ${expected}`);
    const env = await timed(() => c.command('FETCH 1:* (ENVELOPE)'));
    ms.envelope = env.ms;
    if (env.r.count < expected) problems.push(`ENVELOPE: ${env.r.count} responses, expected ${expected}`);
    const subj = await timed(() => c.command(`UID SEARCH SUBJECT "${SUBJECT_WORD}"`, { keep: true }));
    ms.subject = subj.ms;
    hits.subject = searchHits(subj.r);
    const text = await timed(() => c.command(`SEARCH TEXT "${TEXT_WORD}"`, { keep: true }));
    ms.text = text.ms;
    hits.text = searchHits(text.r);
  } finally {
    await c.logout();
  }
  return { ms, hits, problems };
}

/**
 * Resync after 100 changes made by another session. Returns { fullMs,
 * qresyncMs, qresync: { fetched, vanished } , problems }.
 */
async function runResync(server, { expected, qresync }) {
  const problems = [];
  // The client notes the state and goes offline.
  const a = await session(server);
  if (qresync) await a.command('ENABLE QRESYNC');
  const sel = await a.command('SELECT INBOX', { keep: true });
  const text = sel.lines.join('\n');
  const uidvalidity = Number(/UIDVALIDITY (\d+)/.exec(text)?.[1]);
  const modseq = /HIGHESTMODSEQ (\d+)/.exec(text)?.[1];
  const flags = await a.command('UID FETCH 1:* (FLAGS)', { keep: true });
  await a.logout();
  const all = flags.lines
    .map((l) => ({ uid: Number(/UID (\d+)/.exec(l)?.[1]), flagged: /\\Flagged/i.test(l) }))
    .filter((m) => m.uid > 0);
  // Changes spread over the folder: 50 unflagged messages get \Flagged, 50 others go.
  const step = Math.max(1, Math.floor(all.length / (4 * CHANGES)));
  const toFlag = [];
  const toExpunge = [];
  for (let i = 0; i < all.length && (toFlag.length < CHANGES || toExpunge.length < CHANGES); i += step) {
    const m = all[i];
    if (toFlag.length < CHANGES && !m.flagged && toFlag.length <= toExpunge.length) toFlag.push(m.uid);
    else if (toExpunge.length < CHANGES) toExpunge.push(m.uid);
  }
  const b = await session(server);
  await b.command('SELECT INBOX');
  await b.command(`UID STORE ${toSet(toFlag)} +FLAGS.SILENT (\\Flagged)`);
  await b.command(`UID STORE ${toSet(toExpunge)} +FLAGS.SILENT (\\Deleted)`);
  await b.command(`UID EXPUNGE ${toSet(toExpunge)}`);
  await b.logout();
  const left = expected - toExpunge.length;

  // Without QRESYNC: everything again.
  const c = await session(server);
  const full = await timed(async () => {
    const s = await c.command('SELECT INBOX', { keep: true });
    const f = await c.command('UID FETCH 1:* (FLAGS)');
    const u = await c.command('UID SEARCH ALL', { keep: true });
    return {
      exists: Number(/^\* (\d+) EXISTS/m.exec(s.lines.join('\n'))?.[1]),
      fetched: f.count,
      uids: searchHits(u),
    };
  });
  await c.logout();
  if (full.r.exists !== left || full.r.fetched !== left || full.r.uids.length !== left)
    problems.push(
      `full resync: ${full.r.exists} EXISTS, ${full.r.fetched} FLAGS, ${full.r.uids.length} UIDs, expected ${left}`,
    );

  let q = null;
  if (qresync && !(uidvalidity && modseq))
    problems.push('QRESYNC: no UIDVALIDITY/HIGHESTMODSEQ in the SELECT after ENABLE QRESYNC; not timed');
  else if (qresync) {
    const d = await session(server);
    const r = await timed(async () => {
      await d.command('ENABLE QRESYNC');
      return d.command(`SELECT INBOX (QRESYNC (${uidvalidity} ${modseq}))`, { keep: true });
    });
    await d.logout();
    const vanished = untagged(r.r, '* VANISHED (EARLIER) ').reduce(
      (n, l) => n + setSize(l.slice(21).trim()),
      0,
    );
    const fetched = r.r.lines.filter((l) => / FETCH \(/.test(l)).length;
    q = { ms: r.ms, vanished, fetched };
    if (vanished !== toExpunge.length)
      problems.push(`QRESYNC: ${vanished} UIDs VANISHED, expected ${toExpunge.length}`);
    if (fetched < toFlag.length)
      problems.push(`QRESYNC: ${fetched} FETCH responses, expected ≥ ${toFlag.length}`);
  }
  return { fullMs: full.ms, qresync: q, left, problems };
}

/** The cached folder of `size` messages, hard-linked twice into a new work dir; page cache filled. */
function prepareFolder(size, { opts, keep, log, notes }) {
  mkdirSync(opts.cache, { recursive: true });
  const corpus = ensureCorpus({ messages: size, user: USER, cacheDir: opts.cache, log });
  const work = makeTempDir('bench-imap-scale');
  removeDirLater(work, keep);
  chmodSync(work, 0o755); // Dovecot's mail processes (uid mail) walk through it
  const postamtData = join(work, 'postamt');
  mkdirSync(postamtData);
  const how = linkCopy(corpus.root, join(postamtData, 'mail'));
  linkCopy(corpus.root, join(work, 'dovecot'));
  const dropped = opts['drop-caches'] && dropCaches();
  if (opts['drop-caches'] && !dropped) notes.push('--drop-caches: not permitted here; OS cache kept');
  if (!dropped) {
    const t0 = now();
    readAll(corpus.folder);
    log(`  page cache filled in ${(now() - t0).toFixed(0)} s`);
  }
  return { corpus, work, postamtData, how };
}

/** Dovecot and/or Postamt over the two copies, with room for `maxConnections` sessions. */
async function startServers(
  { keep, log, redis, passwordHash, maxConnections },
  { work, postamtData, sides },
) {
  const servers = {};
  if (sides.includes('dovecot')) {
    servers.dovecot = await startDovecot({
      maildirRoot: join(work, 'dovecot'),
      users: [{ name: USER.address, passwordHash }],
      imap: true,
      pop3: false,
      keep,
      log,
      extraConf: dovecotScaleConf(Math.max(maxConnections, 100)),
    });
    servers.dovecot.port = servers.dovecot.imapPort;
  }
  if (sides.includes('postamt'))
    servers.postamt = await startImap({
      redisUrl: redis.url,
      data: postamtData,
      keep,
      ownData: false,
      extraEnv: {
        POSTAMT_IMAP_MAX_CONNECTIONS: String(Math.max(maxConnections + 100, 5000)),
        POSTAMT_IMAP_MAX_CONNECTIONS_PER_IP: String(Math.min(10_000, Math.max(50, maxConnections))),
        POSTAMT_IMAP_IDLE_TIMEOUT: '3h',
      },
    });
  return servers;
}

/** Idle connections on each side in turn; adds figures and notes. */
async function idlePhase(servers, { steps, sources, log, timeoutMs, notes, figures }, label) {
  const idle = {};
  for (const side of ['dovecot', 'postamt'].filter((s) => servers[s])) {
    log(`  ${side}: idle connections ${steps.join(', ')} …`);
    idle[side] = await runIdle(servers[side], {
      user: USER.address,
      password: PASSWORD,
      steps,
      sources,
      log,
      timeoutMs,
    });
    for (const n of idle[side].notes) notes.push(`${side} idle: ${n}`);
  }
  addIdleFigures(figures, notes, idle, label);
  return idle;
}

const sizeLabel = (size) => (size >= 1000 ? `${size / 1000}k` : String(size));

export async function run(opts, { log, keep = false }) {
  const sizes = positiveInts('sizes', opts.sizes).filter((n) => n > 0);
  const idleMessages = positiveInts('idle-messages', opts['idle-messages'])[0] ?? 0;
  const idleSides = String(opts['idle-sides'])
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (idleSides.some((x) => !['dovecot', 'postamt'].includes(x)))
    throw new Error('--idle-sides: dovecot, postamt or both');
  if (sizes.length === 0 && !idleMessages)
    throw new Error('--sizes: at least one folder size (or --idle-messages)');
  const steps = positiveInts('connections', opts.connections).filter((n) => n > 0);
  const repeat = Math.max(1, positiveInts('repeat', opts.repeat)[0] ?? 3);
  const sources = Math.min(250, Math.max(1, positiveInts('sources', opts.sources)[0] ?? 8));
  const timeoutMs = (positiveInts('timeout', opts.timeout)[0] || 1800) * 1000;
  const maxConnections = Math.max(0, ...steps);
  const step = (what, p) => withTimeout(p, timeoutMs, what);
  const notes = [];
  const details = { sizes: {}, loadavg: [] };
  const figures = [];
  let allProblems = [];
  const passwordHash = lightArgon2Hash(PASSWORD);

  const redis = await startBenchRedis({ keep });
  const ctx = {
    opts,
    keep,
    log,
    notes,
    figures,
    redis,
    passwordHash,
    maxConnections,
    steps,
    sources,
    timeoutMs,
  };
  try {
    await resetAndSeed(redis.redis, { domain: USER.domain, user: USER.address, password: PASSWORD });
    await new Directory(redis.redis).putUser({ address: USER.address, passwordHash });

    for (const [sizeIndex, size] of sizes.entries()) {
      log(`${size} messages: folder …`);
      const { corpus, work, postamtData, how } = prepareFolder(size, ctx);
      const sizeLoad = { size, start: loadavg() };

      const servers = {};
      try {
        Object.assign(servers, await startServers(ctx, { work, postamtData, sides: ['dovecot', 'postamt'] }));
        log(
          `  dovecot ${servers.dovecot.version} on :${servers.dovecot.port}, postamt imap on :${servers.postamt.port} (copies by ${how})`,
        );

        const caps = {};
        for (const side of ['dovecot', 'postamt']) {
          const c = await session(servers[side]);
          caps[side] = await c.capabilities();
          await c.logout();
        }
        const qresync = caps.dovecot.has('QRESYNC') && caps.postamt.has('QRESYNC');
        const resyncHow = qresync
          ? 'QRESYNC advertised by both: ENABLE QRESYNC + SELECT (QRESYNC …) timed, and the full resync'
          : `QRESYNC not advertised by ${['dovecot', 'postamt'].filter((s) => !caps[s].has('QRESYNC')).join(' and ')}: full resync only (SELECT + UID FETCH 1:* (FLAGS) + UID SEARCH ALL)`;
        log(`  resync: ${resyncHow}`);

        // first / cold / warm, sides taking turns.
        const perPhase = { dovecot: {}, postamt: {} };
        const hits = { dovecot: null, postamt: null };
        const problems = [];
        const record = (side, phase, r) => {
          perPhase[side][phase] ??= [];
          perPhase[side][phase].push(r.ms);
          hits[side] ??= r.hits;
          for (const p of r.problems) problems.push(`${size} ${side} ${phase}: ${p}`);
          log(
            `  ${side.padEnd(7)} ${phase.padEnd(5)} ${OPS.map(([k]) => `${k} ${r.ms[k]?.toFixed(0) ?? '–'}`).join(', ')} ms (load ${load()})`,
          );
        };
        for (const side of ['dovecot', 'postamt']) {
          if (opts['drop-caches']) dropCaches();
          record(side, 'first', await step(`${side} first`, runOps(servers[side], size)));
        }
        for (const side of ['dovecot', 'postamt']) {
          await servers[side].restart();
          if (opts['drop-caches']) dropCaches();
          record(side, 'cold', await step(`${side} cold`, runOps(servers[side], size)));
        }
        for (let i = 0; i < repeat; i++)
          for (const side of ['dovecot', 'postamt'])
            record(side, 'warm', await step(`${side} warm`, runOps(servers[side], size)));
        for (const k of ['subject', 'text']) {
          const [d, p] = [hits.dovecot?.[k]?.join(','), hits.postamt?.[k]?.join(',')];
          if (d !== p)
            problems.push(
              `${size}: the servers disagree on SEARCH ${k}: Postamt ${hits.postamt?.[k]?.length} hits, Dovecot ${hits.dovecot?.[k]?.length}`,
            );
        }

        const resync = {};
        for (const side of ['dovecot', 'postamt']) {
          resync[side] = await step(
            `${side} resync`,
            runResync(servers[side], { expected: size, qresync }),
          ).catch((err) => ({ fullMs: null, qresync: null, problems: [err.message] }));
          for (const p of resync[side].problems) problems.push(`${size} ${side} resync: ${p}`);
          log(
            `  ${side.padEnd(7)} resync: full ${resync[side].fullMs?.toFixed(0) ?? '–'} ms${resync[side].qresync ? `, QRESYNC ${resync[side].qresync.ms.toFixed(0)} ms (${resync[side].qresync.fetched} FETCH, ${resync[side].qresync.vanished} VANISHED)` : ''}`,
          );
        }

        const label = sizeLabel(size);
        for (const [op, opName] of OPS)
          for (const [phase, phaseName] of PHASES)
            figures.push({
              name: `${label}: ${opName}, ${phase}`,
              unit: 'ms',
              better: 'lower',
              postamt: median(perPhase.postamt[phase]?.map((m) => m[op]) ?? []),
              peer: median(perPhase.dovecot[phase]?.map((m) => m[op]) ?? []),
              note: phase === 'warm' ? `median of ${repeat}` : phaseName,
            });
        figures.push({
          name: `${label}: resync after 100 changes, full`,
          unit: 'ms',
          better: 'lower',
          postamt: resync.postamt.fullMs,
          peer: resync.dovecot.fullMs,
          note: 'SELECT + UID FETCH 1:* (FLAGS) + UID SEARCH ALL',
        });
        if (qresync)
          figures.push({
            name: `${label}: resync after 100 changes, QRESYNC`,
            unit: 'ms',
            better: 'lower',
            postamt: resync.postamt.qresync?.ms ?? null,
            peer: resync.dovecot.qresync?.ms ?? null,
            note: 'ENABLE QRESYNC + SELECT (QRESYNC)',
          });
        notes.push(`${label}: resync — ${resyncHow}`);

        // Idle connections: on the first size, unless --idle-messages names a folder of their own.
        let idle = null;
        if (sizeIndex === 0 && steps.length > 0 && !idleMessages) idle = await idlePhase(servers, ctx, label);
        details.sizes[size] = {
          bytes: corpus.bytes,
          cachedFolder: corpus.cached,
          copies: how,
          capabilities: { dovecot: [...caps.dovecot], postamt: [...caps.postamt] },
          qresync,
          perPhase,
          hits,
          resync,
          idle,
          problems,
        };
        for (const p of problems) log(`  ! ${p}`);
        allProblems = allProblems.concat(problems);
        notes.push(
          `${label}: ${size} messages, ${(corpus.bytes / 2 ** 20).toFixed(0)} MB (LF line ends, all in cur/), ` +
            `SUBJECT finds ${hits.postamt?.subject?.length ?? hits.dovecot?.subject?.length ?? '?'}, TEXT ${hits.postamt?.text?.length ?? hits.dovecot?.text?.length ?? '?'}; ` +
            `load ${sizeLoad.start.map((l) => l.toFixed(1)).join(' ')} → ${load()}`,
        );
      } finally {
        await servers.postamt?.stop();
        await servers.dovecot?.stop();
      }
      details.loadavg.push({ ...sizeLoad, end: loadavg() });
    }

    if (idleMessages && steps.length > 0) {
      log(`idle connections on a ${idleMessages}-message INBOX: folder …`);
      const { work, postamtData } = prepareFolder(idleMessages, ctx);
      const servers = await startServers(ctx, { work, postamtData, sides: idleSides });
      try {
        details.idle = await idlePhase(servers, ctx, sizeLabel(idleMessages));
      } finally {
        await servers.postamt?.stop();
        await servers.dovecot?.stop();
      }
    }
  } catch (err) {
    allProblems.push(`failed: ${err.message}`);
    log(`! ${err.stack ?? err.message}`);
  } finally {
    await redis.stop();
  }
  notes.push(
    opts['drop-caches']
      ? 'first/cold: OS page cache dropped before each (echo 3 > /proc/sys/vm/drop_caches)'
      : 'first/cold: server (re)started but OS page cache kept (every message file read once before); --drop-caches drops it',
    'LOGIN is not timed; both sides verify the same light argon2id hash (m=4 MiB, t=1) so 10,000 logins stay quick',
    'Dovecot/Postamt > 1: Postamt faster or smaller',
  );
  for (const p of allProblems) notes.push(`PROBLEM: ${p}`);
  return { figures, notes, ok: allProblems.length === 0, details };
}
