// readInline: the whole file with blocking calls, or null to send the caller
// to the thread pool (too large); a missing file throws as the async read does.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { beforeEach, expect, it } from 'vitest';
import { readInline, resetInlineReads } from '../src/read-inline.js';

const dir = makeTempDir('read-inline');
beforeEach(() => resetInlineReads());

it('reads a whole file, empty ones included', () => {
  const path = join(dir, 'm1');
  const bytes = Buffer.from('Subject: x\r\n\r\n'.repeat(5000));
  writeFileSync(path, bytes);
  expect(readInline(path)?.equals(readFileSync(path))).toBe(true);
  writeFileSync(join(dir, 'empty'), '');
  expect(readInline(join(dir, 'empty'))?.length).toBe(0);
});

it('leaves files over the limit to the pool', () => {
  const path = join(dir, 'big');
  writeFileSync(path, Buffer.alloc(2048, 97));
  expect(readInline(path, 1024)).toBeNull();
  expect(readInline(path, 2048)?.length).toBe(2048);
});

it('throws ENOENT for a file that moved, as the async read does', () => {
  expect(() => readInline(join(dir, 'gone'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
});
