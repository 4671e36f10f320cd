// The long variants of the reliability suite (issue 11), run as a bench
// scenario so their figures land in bench/results like the others: 10,000
// messages under chaos (zero-loss.test.ts) and 1,000 SMTP + 2,000 IMAP
// connections for a minute (load.test.ts). They print their own counts,
// latencies and memory; this wrapper only runs them with POSTAMT_E2E_LONG=1
// and records pass/fail. No peer: there is nothing to compare against.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const description =
  'long reliability runs: zero loss under faults (10,000 messages) and load (3,000 connections)';
export const peer = '–';
export const options = {
  tests: { type: 'string', default: 'zero-loss,load', description: 'which long tests (comma-separated)' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

export async function run(opts, { log }) {
  const figures = [];
  for (const name of opts.tests
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const file = `packages/e2e/test/${name}.test.ts`;
    log(`running ${file} with POSTAMT_E2E_LONG=1`);
    const started = Date.now();
    const code = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'deploy/local/test.mjs'), file], {
        cwd: root,
        env: { ...process.env, POSTAMT_E2E_LONG: '1' },
        stdio: 'inherit',
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    figures.push({
      name: `${name} (long): ${code === 0 ? 'passed' : 'FAILED'}`,
      unit: 's',
      better: 'lower',
      postamt: Math.round((Date.now() - started) / 1000),
      peer: null,
      note: '',
    });
  }
  return { figures, notes: [], ok: figures.every((f) => f.name.endsWith('passed')), details: {} };
}
