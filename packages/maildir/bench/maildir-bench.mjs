// Maildir micro-benchmarks (issue 3): deliveries per second into one Maildir
// and spread over 1,000 Maildirs, and opening a 100,000-message folder with
// its UIDs cold (no UID list, no index: first open ever), warm (list and index
// on disk, new MaildirStore object, as a new IMAP process would) and hot
// (same MaildirStore again). Runs the built package: build first.
//   node packages/maildir/bench/maildir-bench.mjs [--deliveries 5000] [--messages 100000] [--dir /tmp]
// Prints one JSON line per result; the bench runner will pick these up later.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deliver, ensureMaildir, MaildirStore } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '5000' },
    messages: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const deliveries = Number(values.deliveries);
const messages = Number(values.messages);
const concurrency = Number(values.concurrency);
const base = mkdtempSync(join(values.dir, 'maildir-bench-'));
const body = Buffer.from(`Subject: bench\r\nFrom: a@example.test\r\n\r\n${'x'.repeat(2000)}\r\n`);
const report = (name, value, unit, extra = {}) =>
  console.log(JSON.stringify({ name, value, unit, ...extra }));

async function pool(n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function deliverInto(dirFor, label) {
  const t0 = performance.now();
  await pool(deliveries, (i) =>
    deliver({ dir: dirFor(i), deliveryKey: `B${i}`, time: 1700000000 + i, host: 'bench', source: body }),
  );
  const s = (performance.now() - t0) / 1000;
  report(label, Math.round(deliveries / s), 'deliveries/s', {
    deliveries,
    concurrency,
    seconds: +s.toFixed(2),
  });
}

try {
  await deliverInto(() => join(base, 'one'), 'deliver-one-maildir');
  await deliverInto((i) => join(base, 'many', `u${i % 1000}`), 'deliver-1000-maildirs');

  // A 100,000-message folder, written directly (deliver() would take minutes):
  // names as deliver() makes them, half already seen and flagged in cur/.
  const big = join(base, 'big');
  await ensureMaildir(big);
  mkdirSync(join(big, 'cur'), { recursive: true });
  const small = Buffer.from('Subject: x\r\n\r\nx\r\n');
  for (let i = 0; i < messages; i++) {
    const name = `${1700000000 + i}.K${i}.bench,S=${small.length}`;
    if (i % 2) writeFileSync(join(big, 'cur', `${name}:2,S`), small);
    else writeFileSync(join(big, 'new', name), small);
  }
  const time = async (label, store) => {
    const t0 = performance.now();
    const snap = await store.open('INBOX');
    const ms = performance.now() - t0;
    report(label, Math.round(ms), 'ms', { messages: snap.messages.length, uidNext: snap.uidNext });
  };
  await time('open-100k-cold', new MaildirStore({ root: big }));
  await time('open-100k-warm', new MaildirStore({ root: big }));
  const hot = new MaildirStore({ root: big });
  await hot.open('INBOX');
  await time('open-100k-hot', hot);
  // One new message in a big folder: the sync that gives it a UID rewrites the list.
  await deliver({ dir: big, deliveryKey: 'NEW', time: 1800000000, host: 'bench', source: small });
  await time('open-100k-after-1-new', hot);
  const t0 = performance.now();
  await hot.append('INBOX', small);
  report('append-into-100k', Math.round(performance.now() - t0), 'ms');
} finally {
  rmSync(base, { recursive: true, force: true });
}
