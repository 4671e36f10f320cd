// The maildrop lock: exclusive, released, broken when stale (old mtime, or a
// dead pid on this host), and never broken while fresh.
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '@postamt/testkit';
import { describe, expect, it } from 'vitest';
import { acquireLock, LOCK_NAME } from '../src/lock.js';

describe('maildrop lock', () => {
  it('is exclusive until released', async () => {
    const dir = makeTempDir('pop3-lock');
    const a = await acquireLock(dir);
    expect(a).not.toBeNull();
    expect(await acquireLock(dir)).toBeNull();
    await a?.release();
    const b = await acquireLock(dir);
    expect(b).not.toBeNull();
    expect(JSON.parse(readFileSync(join(dir, LOCK_NAME), 'utf8'))).toMatchObject({
      host: hostname(),
      pid: process.pid,
    });
    await b?.release();
  });

  it('breaks a lock older than the stale age', async () => {
    const dir = makeTempDir('pop3-lock');
    const other = JSON.stringify({ host: 'elsewhere', pid: 1, token: 'x', time: '' });
    writeFileSync(join(dir, LOCK_NAME), other);
    expect(await acquireLock(dir, { staleMs: 60_000 })).toBeNull();
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, LOCK_NAME), old, old);
    const lock = await acquireLock(dir, { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    await lock?.release();
  });

  it('breaks a lock of a dead process on this host', async () => {
    const dir = makeTempDir('pop3-lock');
    writeFileSync(
      join(dir, LOCK_NAME),
      JSON.stringify({ host: hostname(), pid: 2 ** 22 + 12345, token: 'x', time: '' }),
    );
    const lock = await acquireLock(dir);
    expect(lock).not.toBeNull();
    await lock?.release();
  });

  it('release does not remove a lock someone else holds now', async () => {
    const dir = makeTempDir('pop3-lock');
    const a = await acquireLock(dir);
    const theirs = JSON.stringify({ host: 'elsewhere', pid: 1, token: 'theirs', time: '' });
    writeFileSync(join(dir, LOCK_NAME), theirs);
    await a?.release();
    expect(readFileSync(join(dir, LOCK_NAME), 'utf8')).toBe(theirs);
  });
});
