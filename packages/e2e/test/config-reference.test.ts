// docs/configuration.md is generated from the services' schemas: it must be
// current (every variable a service reads, with its real default) and say what
// each setting does (a doc comment above every key).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');

it('docs/configuration.md matches the schemas', () => {
  // Exits non-zero (and the call throws) when the page is stale.
  execFileSync(process.execPath, [join(root, 'deploy/local/config-reference.mjs'), '--check'], {
    stdio: 'pipe',
  });
});

it('every setting on the page says what it does', () => {
  const rows = readFileSync(join(root, 'docs/configuration.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| `POSTAMT_'));
  expect(rows.length).toBeGreaterThan(100);
  const undocumented = rows.filter((row) => /\|\s*\|$/.test(row)).map((row) => row.split('|')[1]?.trim());
  expect(undocumented).toEqual([]);
});
