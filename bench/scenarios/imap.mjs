// IMAP on a big folder: Postamt's imap service next to a private Dovecot
// (bench/lib/dovecot.mjs) serving a copy of the same Maildir, in one run, on
// loopback. The INBOX holds --messages generated messages (plain and
// multipart, in cur/, names as deliver() makes them). Timed, one client at a
// time (bench/lib/imap-client.mjs):
//   - LOGIN + SELECT INBOX + UID FETCH 1:* (FLAGS): cold (first session after
//     start, no index on either side) and warm (median of later sessions);
//   - FETCH 1:* (ENVELOPE BODYSTRUCTURE): cold (first time: both parse every
//     message) and warm;
//   - UID SEARCH SUBJECT, SEARCH TEXT (no full-text index on either side);
//   - APPEND of --appends messages into the same INBOX, one after the other
//     with LITERAL+.
// Checks: both sides list every message, answer every FETCH, and find the
// same UIDs for both searches; the APPENDs all land.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { removeDirLater } from '../lib/cleanup.mjs';
import { copyForDovecot, start as startDovecot } from '../lib/dovecot.mjs';
import { ImapClient } from '../lib/imap-client.mjs';
import { seedBenchUser, startBenchRedis, startImap } from '../lib/postamt.mjs';
import { median } from '../lib/stats.mjs';
import { now, withTimeout } from '../lib/timing.mjs';

export const description = 'IMAP SELECT/FETCH/SEARCH/APPEND on a 10,000-message folder vs Dovecot';
export const peer = 'Dovecot';

export const options = {
  messages: { type: 'string', default: '10000', description: 'messages in the INBOX' },
  appends: { type: 'string', default: '1000', description: 'messages APPENDed at the end' },
  repeat: { type: 'string', default: '3', description: 'warm sessions per server' },
  only: { type: 'string', default: '', description: '"postamt" or "dovecot" to run one side only' },
  timeout: { type: 'string', default: '900', description: 'seconds allowed for one step' },
};

const DOMAIN = 'example.test';
const LOCAL = 'bench';
const USER = `${LOCAL}@${DOMAIN}`;
const PASSWORD = 'bench-password';
const SUBJECT_TERM = 'message 4242';
const TEXT_TERM = 'needle';

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** Deterministic pseudo-random numbers (mulberry32): every run has the same folder. */
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

const WORDS = 'the quick brown fox jumps over lazy dog mail server folder message index octet line'.split(
  ' ',
);

function paragraph(rnd, lines) {
  let out = '';
  for (let l = 0; l < lines; l++) {
    let line = '';
    while (line.length < 60 + rnd() * 12) line += `${WORDS[Math.floor(rnd() * WORDS.length)]} `;
    out += `${line.trimEnd()}\n`;
  }
  return out;
}

/** Message i: text/plain, or every third one multipart/mixed with an attachment; LF line ends. */
function message(i, rnd) {
  const from = `Sender ${i % 97} <sender${i % 97}@bench.example>`;
  const head = [
    `Return-Path: <sender${i % 97}@bench.example>`,
    `Message-ID: <${i}.bench@bench.example>`,
    `Date: Tue, 14 Nov 2023 22:${String(i % 60).padStart(2, '0')}:20 +0000`,
    `From: ${from}`,
    `To: ${USER}`,
    ...(i % 5 === 0 ? [`Cc: Other <other${i % 13}@bench.example>`] : []),
    `Subject: bench message ${i}`,
    'MIME-Version: 1.0',
  ];
  const needle = i % 97 === 0 ? `a ${TEXT_TERM} in the haystack\n` : '';
  const text = `${paragraph(rnd, 20 + Math.floor(rnd() * 40))}${needle}-- \nend of message ${i}\n`;
  if (i % 3 !== 0) return `${head.join('\n')}\nContent-Type: text/plain; charset=us-ascii\n\n${text}`;
  const b = `=_b${i}`;
  const attachment = Buffer.from(paragraph(rnd, 10)).toString('base64').replace(/.{76}/g, '$&\n');
  return [
    ...head,
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    text,
    `--${b}`,
    `Content-Type: application/octet-stream; name="data${i}.bin"`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="data${i}.bin"`,
    '',
    attachment,
    `--${b}--`,
    '',
  ].join('\n');
}

/** The INBOX in <data>/mail/<domain>/<local>/cur, a third seen; returns its size in bytes. */
function generateFolder(data, messages) {
  const dir = join(data, 'mail', DOMAIN, LOCAL);
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const rnd = random(4242);
  let bytes = 0;
  for (let i = 1; i <= messages; i++) {
    const text = Buffer.from(message(i, rnd));
    const flags = i % 3 === 1 ? 'S' : '';
    const name = `${1_700_000_000 + i}.b${String(i).padStart(6, '0')}.bench_host,S=${text.length}:2,${flags}`;
    writeFileSync(join(dir, 'cur', name), text);
    bytes += text.length;
  }
  return bytes;
}

const searchUids = (r) =>
  r.lines
    .filter((l) => l.startsWith('* SEARCH'))
    .flatMap((l) => l.slice(8).trim().split(' ').filter(Boolean))
    .map(Number)
    .sort((a, b) => a - b)
    .join(',');

/** LOGIN + SELECT + UID FETCH 1:* (FLAGS) on a new connection; returns the open client and timings. */
async function openInbox(port, messages) {
  const t0 = now();
  const c = await ImapClient.connect({ port });
  await c.login(USER, PASSWORD);
  const sel = await c.command('SELECT INBOX', { keep: true });
  const exists = Number(/^\* (\d+) EXISTS/m.exec(sel.lines.join('\n'))?.[1]);
  const flags = await c.command('UID FETCH 1:* (FLAGS)');
  const ms = (now() - t0) * 1000;
  const problems = [];
  if (exists !== messages) problems.push(`SELECT: ${exists} EXISTS, expected ${messages}`);
  if (flags.count !== messages)
    problems.push(`UID FETCH FLAGS: ${flags.count} responses, expected ${messages}`);
  return { c, ms, problems };
}

async function timed(fn) {
  const t0 = now();
  const r = await fn();
  return { r, ms: (now() - t0) * 1000 };
}

/** One side's whole programme; returns { steps: name → [ms...], searches, problems }. */
async function runSide(server, { messages, appends, repeat, timeoutMs, log }) {
  const steps = {};
  const record = (name, ms) => {
    steps[name] ??= [];
    steps[name].push(ms);
  };
  const problems = [];
  const searches = {};
  const step = (what, p) => withTimeout(p, timeoutMs, what);

  // Cold: first session after start, nothing indexed.
  const cpu0 = server.cpuSeconds();
  const cold = await step('cold open', openInbox(server.port, messages));
  record('open-cold', cold.ms);
  problems.push(...cold.problems);
  const envCold = await step(
    'cold ENVELOPE fetch',
    timed(() => cold.c.command('FETCH 1:* (ENVELOPE BODYSTRUCTURE)')),
  );
  record('envelope-cold', envCold.ms);
  if (envCold.r.count !== messages) problems.push(`cold ENVELOPE fetch: ${envCold.r.count} responses`);
  await cold.c.logout();
  log(`  cold: open ${cold.ms.toFixed(0)} ms, ENVELOPE+BODYSTRUCTURE ${envCold.ms.toFixed(0)} ms`);

  for (let i = 0; i < repeat; i++) {
    const warm = await step('warm open', openInbox(server.port, messages));
    record('open-warm', warm.ms);
    problems.push(...warm.problems);
    const c = warm.c;
    const env = await step(
      'warm ENVELOPE fetch',
      timed(() => c.command('FETCH 1:* (ENVELOPE BODYSTRUCTURE)')),
    );
    record('envelope-warm', env.ms);
    if (env.r.count !== messages) problems.push(`warm ENVELOPE fetch: ${env.r.count} responses`);
    const subj = await step(
      'SEARCH SUBJECT',
      timed(() => c.command(`UID SEARCH SUBJECT "${SUBJECT_TERM}"`, { keep: true })),
    );
    record('search-subject', subj.ms);
    searches.subject = searchUids(subj.r);
    const text = await step(
      'SEARCH TEXT',
      timed(() => c.command(`UID SEARCH TEXT "${TEXT_TERM}"`, { keep: true })),
    );
    record('search-text', text.ms);
    searches.text = searchUids(text.r);
    const sort = await step(
      'SORT',
      timed(() => c.command('UID SORT (SUBJECT DATE) UTF-8 ALL', { keep: true })),
    );
    record('sort', sort.ms);
    searches.sort = sort.r.lines.find((l) => l.startsWith('* SORT'));
    const thread = await step(
      'THREAD',
      timed(() => c.command('UID THREAD REFERENCES UTF-8 ALL', { keep: true })),
    );
    record('thread', thread.ms);
    searches.thread = thread.r.lines.find((l) => l.startsWith('* THREAD'))?.trimEnd();
    await c.logout();
    log(
      `  warm ${i + 1}: open ${warm.ms.toFixed(0)} ms, ENVELOPE ${env.ms.toFixed(0)} ms, SUBJECT ${subj.ms.toFixed(0)} ms, TEXT ${text.ms.toFixed(0)} ms`,
    );
  }

  // APPEND into the same big INBOX, one message at a time.
  const rnd = random(99);
  const bodies = Array.from({ length: appends }, (_, i) =>
    Buffer.from(message(messages + 1 + i, rnd).replace(/\n/g, '\r\n')),
  );
  const c = await ImapClient.connect({ port: server.port });
  await c.login(USER, PASSWORD);
  const app = await step(
    'APPEND',
    timed(async () => {
      for (const b of bodies) await c.append('INBOX', b, { flags: ['\\Seen'] });
    }),
  );
  record('append', app.ms);
  const st = await c.command('STATUS INBOX (MESSAGES)', { keep: true });
  const total = Number(/MESSAGES (\d+)/.exec(st.lines.join(' '))?.[1]);
  if (total !== messages + appends)
    problems.push(`after APPEND: ${total} messages, expected ${messages + appends}`);
  await c.logout();
  log(`  APPEND ${appends}: ${app.ms.toFixed(0)} ms`);
  const cpu1 = server.cpuSeconds();
  return { steps, searches, problems, cpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
}

export async function run(opts, { log, keep = false }) {
  const messages = positiveInt('messages', opts.messages);
  const appends = positiveInt('appends', opts.appends);
  const repeat = positiveInt('repeat', opts.repeat);
  const timeoutMs = positiveInt('timeout', opts.timeout) * 1000;
  if (opts.only && !['postamt', 'dovecot'].includes(opts.only))
    throw new Error('--only is postamt or dovecot');
  const sides = opts.only ? [opts.only] : ['dovecot', 'postamt'];

  const data = makeTempDir('bench-imap');
  log(`generating ${messages} messages …`);
  const rawBytes = generateFolder(data, messages);
  const servers = {};
  const results = {};
  const notes = [];
  let redis = null;
  try {
    let passwordHash;
    if (sides.includes('postamt')) {
      redis = await startBenchRedis({ keep });
      passwordHash = await seedBenchUser(redis.redis, { domain: DOMAIN, user: USER, password: PASSWORD });
    }
    if (sides.includes('dovecot')) {
      // Dovecot gets its own copy (chowned to the mail user, its own flags and APPENDs).
      const root = copyForDovecot(join(data, 'mail'), { prefix: 'bench-imap-dovecot', keep });
      servers.dovecot = await startDovecot({
        maildirRoot: root,
        users: [passwordHash ? { name: USER, passwordHash } : { name: USER, password: PASSWORD }],
        imap: true,
        pop3: false,
        keep,
        log,
      });
      servers.dovecot.port = servers.dovecot.imapPort;
      log(`dovecot ${servers.dovecot.version} imap on 127.0.0.1:${servers.dovecot.port}`);
    }
    if (sides.includes('postamt')) {
      servers.postamt = await startImap({ redisUrl: redis.url, data, keep });
      log(`postamt imap on 127.0.0.1:${servers.postamt.port}`);
    } else removeDirLater(data, keep);

    // One side after the other: each runs alone on the machine.
    for (const side of sides) {
      log(`${side} …`);
      try {
        results[side] = await runSide(servers[side], { messages, appends, repeat, timeoutMs, log });
      } catch (err) {
        results[side] = { steps: {}, searches: {}, problems: [`failed: ${err.message}`] };
      }
      for (const p of results[side].problems) {
        log(`  ! ${p}`);
        notes.push(`${side}: ${p}`);
      }
    }
  } finally {
    await servers.postamt?.stop();
    await servers.dovecot?.stop();
    await redis?.stop();
  }

  const pick = (side, key) => {
    const v = results[side]?.steps[key];
    return v?.length ? median(v) : null;
  };
  const figure = (name, key, note = '') => ({
    name,
    unit: 'ms',
    better: 'lower',
    postamt: pick('postamt', key),
    peer: pick('dovecot', key),
    note,
  });
  const perMsg = (side) => {
    const v = pick(side, 'append');
    return v === null ? null : v / appends;
  };
  const figures = [
    figure('LOGIN+SELECT+UID FETCH 1:* (FLAGS), cold', 'open-cold', 'first session, no index'),
    figure('LOGIN+SELECT+UID FETCH 1:* (FLAGS), warm', 'open-warm', `median of ${repeat}`),
    figure('FETCH 1:* (ENVELOPE BODYSTRUCTURE), cold', 'envelope-cold', 'parses every message'),
    figure('FETCH 1:* (ENVELOPE BODYSTRUCTURE), warm', 'envelope-warm'),
    figure(`UID SEARCH SUBJECT "${SUBJECT_TERM}"`, 'search-subject', 'warm'),
    figure(`UID SEARCH TEXT "${TEXT_TERM}"`, 'search-text', 'no full-text index'),
    figure('UID SORT (SUBJECT DATE) UTF-8 ALL', 'sort', 'warm'),
    figure('UID THREAD REFERENCES UTF-8 ALL', 'thread', 'warm'),
    figure(`APPEND ${appends} messages`, 'append', 'one at a time, LITERAL+'),
    {
      name: 'APPEND per message',
      unit: 'ms',
      better: 'lower',
      postamt: perMsg('postamt'),
      peer: perMsg('dovecot'),
      note: `into the ${messages}-message INBOX`,
    },
    {
      name: 'server CPU, whole programme',
      unit: 's',
      better: 'lower',
      postamt: results.postamt?.cpuSeconds ?? null,
      peer: results.dovecot?.cpuSeconds ?? null,
      note: 'Postamt: imap process; Dovecot: master and children',
    },
  ];
  const [pa, dc] = [results.postamt?.searches, results.dovecot?.searches];
  if (pa && dc) {
    for (const k of ['subject', 'text', 'sort', 'thread'])
      if (pa[k] !== dc[k])
        notes.push(`the servers disagree on SEARCH ${k}: Postamt [${pa[k]}], Dovecot [${dc[k]}]`);
  }
  const failed = Object.values(results).some((r) => r.problems.length > 0);
  notes.push(
    `${messages} messages, ${(rawBytes / 2 ** 20).toFixed(1)} MB on disk (LF line ends, all in cur/, a third \\Seen); ` +
      `SEARCH SUBJECT finds ${pa?.subject?.split(',').filter(Boolean).length ?? dc?.subject?.split(',').filter(Boolean).length ?? '?'} , ` +
      `SEARCH TEXT ${pa?.text?.split(',').filter(Boolean).length ?? dc?.text?.split(',').filter(Boolean).length ?? '?'} messages`,
  );
  return {
    figures,
    notes,
    ok: !failed && !notes.some((n) => n.includes('disagree')),
    details: {
      options: { messages, appends, repeat, sides },
      rawBytes,
      dovecotVersion: servers.dovecot?.version,
      results,
    },
  };
}
