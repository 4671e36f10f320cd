// `npm test` after bootstrap: runs every test in the workspace with one Vitest
// run, then prints the plain "N passed, N failed" line CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const report = join(root, '.vitest/report.json');
mkdirSync(dirname(report), { recursive: true });

const args = [
  'exec',
  'vitest',
  'run',
  '--config',
  'packages/build-config/vitest.config.mjs',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const r = spawnSync('pnpm', args, { cwd: root, stdio: 'inherit' });

let summary = null;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  summary = {
    passed: json.numPassedTests ?? 0,
    failed: json.numFailedTests ?? 0,
    skipped: (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0),
  };
}
if (summary) {
  console.log(`\n${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
}
process.exit(r.status ?? 1);
