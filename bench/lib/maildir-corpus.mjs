// Big Maildir folders for the IMAP scale bench, written straight to disk (no
// server involved) and cached across runs: generating 100,000 files takes a
// while, copying them by hard links takes seconds. Messages are small and
// varied like a real mailbox: plain text, multipart/alternative with HTML,
// attachments, quoted-printable, folded DKIM and Received headers, replies
// with References, mailing-list headers, RFC 2047 encoded names and subjects.
// A seeded PRNG makes every run the same folder, so results compare.
//
// Invariants: file names sort in arrival order (time stamp, then a
// zero-padded counter) as deliver() names them, so Postamt and Dovecot hand
// out the same UIDs; the cache is only ever read or hard-linked, never
// changed (both servers rename or unlink their own links, and neither
// rewrites a message file).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bump when message generation changes, so stale caches are not reused. */
export const CORPUS_VERSION = 1;

/** Words the searches look for, and how often they occur. */
export const SUBJECT_WORD = 'invoice'; // in about 1 % of subjects
export const TEXT_WORD = 'needle'; // in about 1 % of bodies, never in headers

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const WORDS = (
  'the of and to in is for that on with as was at by from this be have are an or it not we our you ' +
  'meeting project report update team schedule budget review release server customer order delivery ' +
  'quarter plan draft notes call agenda question answer change request issue fixed tomorrow today week'
).split(' ');
const TOPICS = [
  'Weekly status',
  'Project kickoff',
  'Lunch on Friday?',
  'Your order has shipped',
  'Build failed on main',
  'Minutes of the board meeting',
  'Holiday schedule',
  'Question about the API',
  'New comment on your post',
  'Password reset',
  'Conference travel',
  'Release candidate ready',
];
const NAMES = [
  'Anna Schmidt',
  'Ben Carter',
  'Chloé Martin',
  'Jürgen Müller',
  'Li Wei',
  'Sofia Rossi',
  'Tom Baker',
];
const LISTS = ['dev', 'announce', 'users', 'ops'];

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

function encodedWord(text) {
  return `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;
}

function mailbox(rnd, n) {
  const name = NAMES[n % NAMES.length];
  const addr = `${name
    .split(' ')[0]
    .toLowerCase()
    .normalize('NFD')
    .replace(/[^a-z]/g, '')}${n}@corp${n % 7}.example`;
  // Non-ASCII names are encoded (RFC 2047), a few ASCII ones quoted.
  if (/[^\x20-\x7e]/.test(name)) return `${encodedWord(name)} <${addr}>`;
  return rnd() < 0.3 ? `"${name}" <${addr}>` : `${name} <${addr}>`;
}

function sentence(rnd) {
  const n = 6 + Math.floor(rnd() * 12);
  const w = [];
  for (let i = 0; i < n; i++) w.push(pick(rnd, WORDS));
  const s = w.join(' ');
  return `${s[0].toUpperCase()}${s.slice(1)}.`;
}

function paragraphs(rnd, lines) {
  let out = '';
  let line = '';
  for (let l = 0; l < lines; ) {
    line += `${sentence(rnd)} `;
    if (line.length > 60) {
      out += `${line.trimEnd()}\n`;
      line = '';
      l++;
      if (rnd() < 0.15) out += '\n';
    }
  }
  return out;
}

function base64Lines(buf) {
  return buf.toString('base64').replace(/.{76}/g, '$&\n');
}

/** Message i (1-based) as a string with LF line ends, and its flags. */
export function corpusMessage(i, rnd, user) {
  const when = new Date(Date.UTC(2023, 0, 1) + i * 317_000);
  const sender = Math.floor(rnd() * 300);
  const reply = i > 10 && rnd() < 0.3;
  const list = rnd() < 0.2 ? pick(rnd, LISTS) : null;
  let subject = `${pick(rnd, TOPICS)} ${1 + (i % 53)}`;
  if (i % 100 === 37) subject = `Your ${SUBJECT_WORD} ${i} is ready`;
  if (list) subject = `[${list}] ${subject}`;
  if (reply) subject = `Re: ${subject}`;
  const subjectField = rnd() < 0.05 ? encodedWord(`${subject} – ✓`) : subject;

  const head = [];
  const hops = 1 + Math.floor(rnd() * 3);
  for (let h = 0; h < hops; h++)
    head.push(
      `Received: from mx${h}.corp${sender % 7}.example (mx${h}.corp${sender % 7}.example [192.0.2.${(sender + h) % 250}])\n\tby mail.${user.domain} with ESMTPS id ${i.toString(36)}${h}\n\tfor <${user.address}>; ${when.toUTCString().replace('GMT', '+0000')}`,
    );
  if (rnd() < 0.3)
    head.push(
      `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=corp${sender % 7}.example; s=s1;\n\th=from:to:subject:date:message-id; bh=${Buffer.from(String(i)).toString('base64')}=;\n\tb=${base64Lines(Buffer.alloc(128, i % 251)).replace(/\n/g, '\n\t')}`,
    );
  head.push(
    `Message-ID: <${i}.${sender}@corp${sender % 7}.example>`,
    `Date: ${when.toUTCString().replace('GMT', '+0000')}`,
    `From: ${mailbox(rnd, sender)}`,
    `To: ${rnd() < 0.1 ? `${encodedWord('Bench Nutzer')} ` : ''}<${user.address}>`,
  );
  if (rnd() < 0.2) head.push(`Cc: ${mailbox(rnd, sender + 1)}, ${mailbox(rnd, sender + 2)}`);
  head.push(`Subject: ${subjectField}`);
  if (reply) {
    const parent = i - 1 - Math.floor(rnd() * 10);
    head.push(
      `In-Reply-To: <${parent}.x@corp.example>`,
      `References: <${parent - 1}.x@corp.example> <${parent}.x@corp.example>`,
    );
  }
  if (list)
    head.push(
      `List-Id: ${list} <${list}.lists.example>`,
      `List-Unsubscribe: <mailto:${list}-leave@lists.example>`,
    );
  if (rnd() < 0.3) head.push(`X-Mailer: Bench Mailer ${1 + (i % 9)}.${i % 10}`);
  head.push('MIME-Version: 1.0');

  const lines = 3 + Math.floor(rnd() ** 2 * 120);
  const needle = i % 97 === 5 ? `Somewhere in here is a ${TEXT_WORD}.\n` : '';
  const text = `Hello,\n\n${paragraphs(rnd, lines)}${needle}\n-- \n${NAMES[sender % NAMES.length]}\n`;
  const kind = rnd();
  let body;
  if (kind < 0.6) {
    head.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
    body = text;
  } else if (kind < 0.85) {
    const b = `alt_${i}`;
    const html = `<html><body>${text
      .split('\n\n')
      .map((p) => `<p>${p}</p>`)
      .join('\n')}</body></html>\n`;
    head.push(`Content-Type: multipart/alternative; boundary="${b}"`);
    body = `--${b}\nContent-Type: text/plain; charset=utf-8\n\n${text}\n--${b}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n${html.replace(/=/g, '=3D')}\n--${b}--\n`;
  } else {
    const b = `mix_${i}`;
    const size = 512 + Math.floor(rnd() ** 3 * 24_000);
    const data = Buffer.alloc(size);
    for (let k = 0; k < size; k += 4)
      data.writeUInt32LE((Math.imul(i, 2654435761) + k * 40503) >>> 0, Math.min(k, size - 4));
    const [name, type] =
      rnd() < 0.5 ? [`report-${i}.pdf`, 'application/pdf'] : [`photo-${i}.jpg`, 'image/jpeg'];
    head.push(`Content-Type: multipart/mixed; boundary="${b}"`);
    body = `This is a multi-part message in MIME format.\n\n--${b}\nContent-Type: text/plain; charset=utf-8\n\n${text}\n--${b}\nContent-Type: ${type}; name="${name}"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="${name}"\n\n${base64Lines(data)}\n--${b}--\n`;
  }
  const f = rnd();
  const flags = f < 0.7 ? 'S' : f < 0.75 ? 'FS' : f < 0.85 ? 'RS' : '';
  return { text: `${head.join('\n')}\n\n${body}`, flags };
}

/**
 * The cached folder of `messages` messages for `user` ({ address, domain,
 * local }), generated on first use: returns { root, folder, bytes, cached }
 * where `root` holds <domain>/<local>/{cur,new,tmp} (Dovecot's `%d/%n` layout,
 * Postamt's <data>/mail/…).
 */
export function ensureCorpus({ messages, user, cacheDir, log = () => {} }) {
  const base = join(cacheDir, `imap-scale-v${CORPUS_VERSION}-${messages}`);
  const root = join(base, 'mail');
  const folder = join(root, user.domain, user.local);
  const doneFile = join(base, 'complete.json');
  if (existsSync(doneFile)) {
    const meta = JSON.parse(readFileSync(doneFile, 'utf8'));
    return { root, folder, bytes: meta.bytes, cached: true };
  }
  // Half-written caches (a run stopped while generating) are started again.
  rmSync(base, { recursive: true, force: true });
  const building = `${base}.partial-${process.pid}`;
  const dir = join(building, 'mail', user.domain, user.local);
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const rnd = random(0x5ca1e + messages);
  let bytes = 0;
  const t0 = Date.now();
  for (let i = 1; i <= messages; i++) {
    const { text, flags } = corpusMessage(i, rnd, user);
    const buf = Buffer.from(text);
    const stamp = 1_672_531_200 + i * 317;
    const name = `${stamp}.M${String(i).padStart(7, '0')}P1Q1.bench,S=${buf.length}:2,${flags}`;
    writeFileSync(join(dir, 'cur', name), buf);
    bytes += buf.length;
    if (i % 20_000 === 0) log(`  … ${i} of ${messages} messages written`);
  }
  writeFileSync(
    join(building, 'complete.json'),
    `${JSON.stringify({ messages, bytes, version: CORPUS_VERSION })}\n`,
  );
  mkdirSync(cacheDir, { recursive: true });
  renameSync(building, base);
  log(
    `  ${messages} messages (${(bytes / 2 ** 20).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return { root, folder, bytes, cached: false };
}

/**
 * Copies the tree `src` to `dst` (which must not exist) by hard links — the
 * message files are never rewritten, so a link is as good as a copy and takes
 * seconds for 100,000 files; falls back to a real copy across file systems.
 * Returns 'hard links' or 'copy'.
 */
export function linkCopy(src, dst) {
  const r = spawnSync('cp', ['-al', src, dst], { encoding: 'utf8' });
  if (r.status === 0) return 'hard links';
  rmSync(dst, { recursive: true, force: true });
  const c = spawnSync('cp', ['-a', src, dst], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`cp -a ${src} ${dst} failed: ${c.stderr}`);
  return 'copy';
}

/** Reads every file under `dir` once, so the OS page cache holds them (for a fair "cold" start). */
export function readAll(dir) {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) bytes += readFileSync(join(e.parentPath, e.name)).length;
  }
  return bytes;
}
