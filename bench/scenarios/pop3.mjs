// POP3 download of a whole maildrop: one session logs in, runs STAT and UIDL,
// RETRs every message (pipelined, bench/lib/pop3-client.mjs) and QUITs —
// against Postamt's pop3 service and a private Dovecot pop3 serving a copy of
// the same Maildir, in the same run.
//
// The first session on each side is "cold": Postamt has not sized the
// messages yet, Dovecot has no index. Later sessions are "warm". The first
// QUIT moves every message new/ → cur/ with the seen flag on both sides (a
// RETR marks seen), so it is timed on its own. Checks: each side lists and
// sends exactly the generated messages, the un-stuffed octets received equal
// STAT's total, and both sides agree on the count and on the total size.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { removeDirLater } from '../lib/cleanup.mjs';
import { copyForDovecot, start as startDovecot } from '../lib/dovecot.mjs';
import { Pop3Client } from '../lib/pop3-client.mjs';
import { pop3Entry, seedBenchUser, startBenchRedis, startPop3 } from '../lib/postamt.mjs';
import { median } from '../lib/stats.mjs';
import { now, sleep, withTimeout } from '../lib/timing.mjs';

export const description = 'POP3 STAT + UIDL + RETR of a 10,000-message maildrop vs Dovecot';
export const peer = 'Dovecot';

export const options = {
  messages: { type: 'string', default: '10000', description: 'messages in the maildrop' },
  'min-size': { type: 'string', default: '3072', description: 'smallest message in bytes' },
  'max-size': { type: 'string', default: '5120', description: 'largest message in bytes' },
  repeat: { type: 'string', default: '4', description: 'sessions per server; the first is cold' },
  window: { type: 'string', default: '32', description: 'RETR commands in flight (pipelining)' },
  only: { type: 'string', default: '', description: '"postamt" or "dovecot" to run one side only' },
  timeout: { type: 'string', default: '600', description: 'seconds allowed for one session' },
};

const DOMAIN = 'example.test';
const LOCAL = 'bench';
const USER = `${LOCAL}@${DOMAIN}`;
const PASSWORD = 'bench-password';

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** Deterministic pseudo-random numbers (mulberry32), so every run has the same maildrop. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const WORDS = 'the quick brown fox jumps over lazy dog mail server maildrop message octet line dot'.split(
  ' ',
);

/** One message with LF line ends (as Maildir stores them), some lines starting with "." to stuff. */
function message(i, size, rnd) {
  const head = [
    `Return-Path: <sender${i % 97}@bench.example>`,
    `Message-ID: <${i}.bench@bench.example>`,
    `Date: Tue, 14 Nov 2023 22:13:20 +0000`,
    `From: Sender ${i % 97} <sender${i % 97}@bench.example>`,
    `To: ${USER}`,
    `Subject: bench message ${i}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join('\n');
  let body = '';
  while (head.length + body.length < size - 80) {
    let line = rnd() < 0.05 ? '.' : '';
    while (line.length < 60 + rnd() * 12) line += `${WORDS[Math.floor(rnd() * WORDS.length)]} `;
    body += `${line.trimEnd()}\n`;
  }
  return `${head}${body}-- \nend of message ${i}\n`;
}

/** Writes the maildrop into <data>/mail/<domain>/<local>/new; returns its total raw size. */
function generateMaildrop(data, { messages, minSize, maxSize }) {
  const dir = join(data, 'mail', DOMAIN, LOCAL);
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const rnd = random(1939);
  let bytes = 0;
  for (let i = 1; i <= messages; i++) {
    const text = message(i, minSize + Math.floor(rnd() * (maxSize - minSize + 1)), rnd);
    // The name shape deliver() makes: <time>.<key>.<host>, in arrival order.
    writeFileSync(join(dir, 'new', `${1_700_000_000 + i}.b${String(i).padStart(6, '0')}.bench_host`), text);
    bytes += text.length;
  }
  return bytes;
}

/** One full download session; returns timings and checks. */
async function session(port, { expected, window, cpuSeconds }) {
  const cpu0 = cpuSeconds();
  const t0 = now();
  const c = await Pop3Client.connect({ port, timeoutMs: 120_000 });
  await c.login(USER, PASSWORD);
  const tLogin = now();
  const stat = await c.stat();
  const uids = await c.uidl();
  const numbers = uids.map((u) => u.number);
  const got = await c.retrAll(numbers, { window });
  const tRetr = now();
  await c.quit();
  const tQuit = now();
  // Dovecot's pop3 process counts in its master's CPU only once reaped.
  await sleep(250);
  const cpu = cpuSeconds() - cpu0;
  const problems = [];
  if (stat.count !== expected) problems.push(`STAT says ${stat.count} messages, expected ${expected}`);
  if (uids.length !== stat.count) problems.push(`UIDL listed ${uids.length} of ${stat.count}`);
  if (new Set(uids.map((u) => u.uid)).size !== uids.length) problems.push('UIDL values not unique');
  if (got.messages !== stat.count) problems.push(`RETR got ${got.messages} of ${stat.count}`);
  if (got.octets !== stat.size) problems.push(`RETR sent ${got.octets} octets, STAT said ${stat.size}`);
  const seconds = tRetr - t0;
  return {
    count: stat.count,
    octets: got.octets,
    seconds,
    loginMs: (tLogin - t0) * 1000,
    quitMs: (tQuit - tRetr) * 1000,
    rate: got.messages / seconds,
    mbPerSecond: got.octets / 2 ** 20 / seconds,
    cpuMsPer1000: cpu === null ? null : (cpu * 1e6) / got.messages,
    ok: problems.length === 0,
    problems,
  };
}

export async function run(opts, { log, keep = false }) {
  const messages = positiveInt('messages', opts.messages);
  const minSize = positiveInt('min-size', opts['min-size']);
  const maxSize = Math.max(minSize, positiveInt('max-size', opts['max-size']));
  const repeat = positiveInt('repeat', opts.repeat);
  const window = positiveInt('window', opts.window);
  const timeoutMs = positiveInt('timeout', opts.timeout) * 1000;
  if (opts.only && !['postamt', 'dovecot'].includes(opts.only))
    throw new Error('--only is postamt or dovecot');
  const sides = opts.only ? [opts.only] : ['dovecot', 'postamt'];

  const data = makeTempDir('bench-pop3');
  log(`generating ${messages} messages of ${minSize}–${maxSize} bytes …`);
  const rawBytes = generateMaildrop(data, { messages, minSize, maxSize });
  const servers = {};
  let redis = null;
  const runs = [];
  const notes = [];
  try {
    // Postamt first: Dovecot gets the same argon2id hash from Postamt's
    // directory, so a login costs both servers the same.
    let passwordHash;
    if (sides.includes('postamt')) {
      pop3Entry();
      redis = await startBenchRedis({ keep });
      passwordHash = await seedBenchUser(redis.redis, { domain: DOMAIN, user: USER, password: PASSWORD });
      servers.postamt = await startPop3({ redisUrl: redis.url, data, keep });
      servers.postamt.port = servers.postamt.pop3Port;
      log(`postamt pop3 on 127.0.0.1:${servers.postamt.port}`);
    } else {
      removeDirLater(data, keep);
    }
    if (sides.includes('dovecot')) {
      // Dovecot gets its own copy: it is chowned to the mail user and gets its own flags.
      const root = copyForDovecot(join(data, 'mail'), { prefix: 'bench-pop3-dovecot', keep });
      servers.dovecot = await startDovecot({
        maildirRoot: root,
        users: [passwordHash ? { name: USER, passwordHash } : { name: USER, password: PASSWORD }],
        imap: false,
        pop3: true,
        keep,
        log,
      });
      servers.dovecot.port = servers.dovecot.pop3Port;
      log(
        `dovecot ${servers.dovecot.version} on 127.0.0.1:${servers.dovecot.port}, password ${passwordHash ? 'argon2id' : 'plain'}`,
      );
    }

    for (let r = 0; r < repeat; r++) {
      // Alternating who goes first, so neither side always runs right after the other's load.
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        const server = servers[side];
        const label = `${side}, session ${r + 1}${r === 0 ? ' (cold)' : ''}`;
        log(`${label} …`);
        let result;
        try {
          result = await withTimeout(
            session(server.port, { expected: messages, window, cpuSeconds: server.cpuSeconds }),
            timeoutMs,
            `${side} session`,
          );
        } catch (err) {
          result = { ok: false, problems: [`failed: ${err.message}`] };
        }
        Object.assign(result, { server: side, session: r + 1, cold: r === 0 });
        runs.push(result);
        if (result.rate)
          log(
            `  ${result.rate.toFixed(0)} msg/s, ${result.mbPerSecond.toFixed(1)} MB/s, login ${result.loginMs.toFixed(0)} ms, QUIT ${result.quitMs.toFixed(0)} ms${result.ok ? '' : '  (CHECK FAILED)'}`,
          );
        for (const p of result.problems) {
          log(`  ! ${p}`);
          notes.push(`${label}: ${p}`);
        }
      }
    }
  } finally {
    await servers.postamt?.stop();
    await servers.dovecot?.stop();
    await redis?.stop();
  }

  const pick = (server, cold, key) =>
    median(runs.filter((x) => x.server === server && x.cold === cold && x.ok).map((x) => x[key]));
  const figure = (name, unit, better, key, cold, note = '') => ({
    name,
    unit,
    better,
    postamt: pick('postamt', cold, key),
    peer: pick('dovecot', cold, key),
    note,
  });
  const figures = [
    figure('download rate, warm', 'msg/s', 'higher', 'rate', false, 'login + STAT + UIDL + RETR all'),
    figure('download rate, warm', 'MB/s', 'higher', 'mbPerSecond', false),
    figure('download rate, cold', 'msg/s', 'higher', 'rate', true, 'first session: no size cache / index'),
    figure('login, warm', 'ms', 'lower', 'loginMs', false, 'USER/PASS incl. the maildrop snapshot'),
    figure('login, cold', 'ms', 'lower', 'loginMs', true),
    figure('QUIT, first session', 'ms', 'lower', 'quitMs', true, `${messages} messages new/ → cur/ as seen`),
    figure(
      'server CPU per 1000 msgs, warm',
      'ms',
      'lower',
      'cpuMsPer1000',
      false,
      'steadier than wall clock',
    ),
    figure('server CPU per 1000 msgs, cold', 'ms', 'lower', 'cpuMsPer1000', true, 'incl. QUIT'),
  ];

  // Both servers must have served the same maildrop.
  const first = (side) => runs.find((x) => x.server === side && x.ok);
  const [pa, dc] = [first('postamt'), first('dovecot')];
  if (pa && dc && (pa.count !== dc.count || pa.octets !== dc.octets)) {
    notes.push(
      `the servers disagree: Postamt ${pa.count} msgs / ${pa.octets} octets, Dovecot ${dc.count} / ${dc.octets}`,
    );
  }
  const failed = runs.filter((x) => !x.ok).length;
  if (failed) notes.unshift(`${failed} of ${runs.length} sessions failed their checks and are left out`);
  notes.push(
    `${messages} messages, ${(rawBytes / 2 ** 20).toFixed(1)} MB on disk (LF line ends); ` +
      `one session at a time, RETR pipelined ${window} deep; warm = median of sessions 2..${repeat}; ` +
      'CPU from /proc: Postamt = pop3 process, Dovecot = master and all its children',
  );
  return {
    figures,
    notes,
    ok: failed === 0 && !notes.some((n) => n.startsWith('the servers disagree')),
    details: {
      options: { messages, minSize, maxSize, repeat, window, sides },
      rawBytes,
      dovecotVersion: servers.dovecot?.version,
      runs,
    },
  };
}
