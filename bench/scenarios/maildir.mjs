// Maildir store micro-benchmarks (issue 3): deliveries per second into one
// Maildir and over 1,000 Maildirs, and opening a 100,000-message folder with
// its UIDs cold, warm and hot. There is no peer in this scenario; the numbers
// run packages/maildir/bench/maildir-bench.mjs (the built package) in a child.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const description = 'Maildir deliveries/s (1 and 1,000 Maildirs) and opening a 100,000-message folder';
export const peer = '–';
export const options = {
  deliveries: { type: 'string', default: '5000', description: 'deliveries per delivery figure' },
  messages: { type: 'string', default: '100000', description: 'messages in the big folder' },
  concurrency: { type: 'string', default: '16', description: 'deliveries in flight' },
};

const script = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../packages/maildir/bench/maildir-bench.mjs',
);

const LABELS = {
  'deliver-one-maildir': ['deliveries into one Maildir', 'higher'],
  'deliver-1000-maildirs': ['deliveries into 1,000 Maildirs', 'higher'],
  'open-100k-cold': ['open 100k folder, cold (no UID list yet)', 'lower'],
  'open-100k-warm': ['open 100k folder, warm (new process)', 'lower'],
  'open-100k-hot': ['open 100k folder, hot (same store)', 'lower'],
  'open-100k-after-1-new': ['open 100k folder after 1 new message', 'lower'],
  'append-into-100k': ['one APPEND into the 100k folder', 'lower'],
};

export async function run(opts, { log }) {
  const args = [
    script,
    '--deliveries',
    opts.deliveries,
    '--messages',
    opts.messages,
    '--concurrency',
    opts.concurrency,
  ];
  log(`running ${args.join(' ')}`);
  const lines = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`exit ${code}`)),
    );
  });
  const results = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const figures = results.map((r) => {
    const [name, better] = LABELS[r.name] ?? [r.name, ''];
    return { name, unit: r.unit, better, postamt: r.value, peer: null, note: '' };
  });
  return { figures, notes: [], ok: figures.length > 0, details: { results } };
}
