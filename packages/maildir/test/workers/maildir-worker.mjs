// A child process for the concurrency and crash tests: works on one user's
// Maildir through the built package and prints every UID it observes as
// `{"b":base,"u":uid,"v":uidValidity}` lines, so the parent can check that
// no process ever saw one message under two UIDs or one UID on two messages.
//   node maildir-worker.mjs <root> <mode> <count> <id>
//   mode: mixed  — deliver / append / expunge / flag / open, at random
//         append — append forever (the parent kills it with SIGKILL)
//         hold-lock — take the INBOX lock and die holding it
//         flag-expunge — flag UID <count> and expunge UID <count>+1 (modseq tests)
import { join } from 'node:path';
import { deliver, FileLock, MaildirStore } from '../../dist/index.js';

const [root, mode, countText, id] = process.argv.slice(2);
const count = Number(countText);
const store = new MaildirStore({ root, host: `w${id}` });
const seen = [];
const report = (v, pairs) => {
  for (const [b, u] of pairs) seen.push(JSON.stringify({ b, u, v }));
  if (seen.length > 200) flush();
};
const flush = () => {
  if (seen.length) process.stdout.write(`${seen.join('\n')}\n`);
  seen.length = 0;
};

if (mode === 'hold-lock') {
  await store.open('INBOX');
  await FileLock.acquire(join(root, 'postamt-uidlist.lock'));
  process.kill(process.pid, 'SIGKILL');
}

if (mode === 'flag-expunge') {
  // Another process's STORE and EXPUNGE: flags UID <count>, expunges UID <count>+1, prints the result.
  const flagged = await store.setFlags('INBOX', [count], 'add', ['\\Flagged']);
  const removed = await store.expunge('INBOX', [count + 1]);
  process.stdout.write(`${JSON.stringify({ flagged, removed })}\n`);
  process.exit(0);
}

if (mode === 'append') {
  for (let i = 0; ; i++) {
    await store.append('INBOX', Buffer.from(`Subject: ${id}-${i}\r\n\r\n${'x'.repeat(i % 5000)}\r\n`));
  }
}

for (let i = 0; i < count; i++) {
  const r = Math.random();
  if (r < 0.35) {
    await deliver({
      dir: root,
      deliveryKey: `k${id}_${i}`,
      time: Math.floor(Date.now() / 1000),
      host: `w${id}`,
      source: Buffer.from(`Subject: d ${id} ${i}\r\n\r\nbody\r\n`),
    });
  } else if (r < 0.55) {
    const a = await store.append('INBOX', Buffer.from(`Subject: a ${id} ${i}\r\n\r\nbody\r\n`), {
      flags: Math.random() < 0.5 ? ['\\Seen'] : [],
    });
    const snap = await store.open('INBOX');
    const m = snap.messages.find((x) => x.uid === a.uid);
    if (m) report(snap.uidValidity, [[m.base, m.uid]]);
  } else {
    const snap = await store.open('INBOX');
    report(
      snap.uidValidity,
      snap.messages.map((m) => [m.base, m.uid]),
    );
    const pick = snap.messages[Math.floor(Math.random() * snap.messages.length)];
    if (!pick) continue;
    if (r < 0.75) await store.expunge('INBOX', [pick.uid]);
    else await store.setFlags('INBOX', [pick.uid], 'add', ['\\Flagged', '$Work']);
  }
}
const snap = await store.open('INBOX');
report(
  snap.uidValidity,
  snap.messages.map((m) => [m.base, m.uid]),
);
flush();
