import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, type RedisServer, startRedis } from '@postamt/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addressKey,
  applySeed,
  Directory,
  hashPassword,
  needsRehash,
  parseQuota,
  readSeedFile,
  verifyPassword,
} from '../src/index.js';

let server: RedisServer;
let redis: Redis;
let dir: Directory;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  dir = new Directory(redis);
});

describe('addresses', () => {
  it('match case-insensitively and meet IDN domains in both forms', () => {
    expect(addressKey('Alice@Example.TEST')).toBe('alice@example.test');
    expect(addressKey('info@bücher.example')).toBe('info@xn--bcher-kva.example');
    expect(addressKey('info@xn--bcher-kva.example')).toBe('info@xn--bcher-kva.example');
    expect(addressKey('jörg@example.test')).toBe('jörg@example.test');
    expect(addressKey('no-at-sign')).toBeNull();
    expect(addressKey('a@')).toBeNull();
  });
});

describe('passwords', () => {
  it('hashes with argon2id and verifies', async () => {
    const h = await hashPassword('correct horse');
    expect(h).toMatch(/^\{ARGON2ID\}\$argon2id\$/);
    expect(await verifyPassword(h, 'correct horse')).toBe(true);
    expect(await verifyPassword(h, 'wrong')).toBe(false);
    expect(needsRehash(h)).toBe(false);
    expect(needsRehash('{SHA512-CRYPT}$6$x$y')).toBe(true);
  });
});

describe('directory', () => {
  it('stores users with hashed passwords and authenticates them', async () => {
    await dir.addDomain('Example.Test');
    const u = await dir.putUser({ address: 'Alice@example.test', password: 'secret', quota: 1024 });
    expect(u.key).toBe('alice@example.test');
    expect(await redis.hget('postamt:dir:user:alice@example.test', 'hash')).not.toContain('secret');
    expect((await dir.authenticate('ALICE@example.test', 'secret'))?.address).toBe('Alice@example.test');
    expect(await dir.authenticate('alice@example.test', 'nope')).toBeNull();
    expect(await dir.authenticate('bob@example.test', 'secret')).toBeNull();
    await dir.putUser({ address: 'alice@example.test', enabled: false });
    expect(await dir.authenticate('alice@example.test', 'secret')).toBeNull();
  });

  it('refuses users of domains it does not serve', async () => {
    await expect(dir.putUser({ address: 'x@elsewhere.example', password: 'p' })).rejects.toMatchObject({
      code: 'not-found',
    });
  });

  it('resolves users, aliases, unknown locals and remote addresses', async () => {
    await dir.addDomain('example.test');
    await dir.putUser({ address: 'alice@example.test', password: 'p' });
    await dir.putUser({ address: 'bob@example.test', password: 'p' });
    await dir.putAlias('team@example.test', ['alice@example.test', 'bob@example.test', 'ext@remote.example']);
    await dir.putAlias('loop1@example.test', ['loop2@example.test']);
    await dir.putAlias('loop2@example.test', ['loop1@example.test', 'alice@example.test']);
    expect((await dir.resolve('alice@example.test')).kind).toBe('user');
    expect((await dir.resolve('team@example.test')).kind).toBe('alias');
    expect((await dir.resolve('nobody@example.test')).kind).toBe('unknown');
    expect((await dir.resolve('x@remote.example')).kind).toBe('remote');
    const team = await dir.expand('team@example.test');
    expect(team.local.map((u) => u.key).sort()).toEqual(['alice@example.test', 'bob@example.test']);
    expect(team.remote).toEqual(['ext@remote.example']);
    expect((await dir.expand('loop1@example.test')).local.map((u) => u.key)).toEqual(['alice@example.test']);
  });
});

describe('seed', () => {
  it('applies the documented YAML format idempotently, without resetting changed passwords', async () => {
    const file = join(makeTempDir('seed'), 'seed.yaml');
    writeFileSync(
      file,
      [
        'domains: [example.test]',
        'users:',
        '  - address: alice@example.test',
        '    password: "a plain password"',
        '    quota: 2GB',
        'aliases:',
        '  - address: postmaster@example.test',
        '    to: [alice@example.test]',
      ].join('\n'),
    );
    const seed = readSeedFile(file);
    expect(await applySeed(dir, seed)).toEqual({ domains: 1, users: 1, aliases: 1 });
    const alice = await dir.getUser('alice@example.test');
    expect(alice?.quota).toBe(2 * 1024 ** 3);
    expect(await dir.authenticate('alice@example.test', 'a plain password')).not.toBeNull();
    await dir.putUser({ address: 'alice@example.test', password: 'changed by alice' });
    await applySeed(dir, seed);
    expect(await dir.authenticate('alice@example.test', 'changed by alice')).not.toBeNull();
    expect((await dir.resolve('postmaster@example.test')).kind).toBe('alias');
    expect(await dir.listDomains()).toEqual(['example.test']);
  });

  it('accepts an argon2id hash instead of a password', async () => {
    const hash = (await hashPassword('pw')).replace('{ARGON2ID}', '');
    await applySeed(dir, {
      domains: ['example.test'],
      users: [{ address: 'h@example.test', password_hash: `{ARGON2ID}${hash}` }],
      aliases: [],
    });
    expect(await dir.authenticate('h@example.test', 'pw')).not.toBeNull();
  });

  it('parses quotas', () => {
    expect(parseQuota('2GB')).toBe(2 * 1024 ** 3);
    expect(parseQuota('500M')).toBe(500 * 1024 ** 2);
    expect(parseQuota(undefined)).toBe(0);
    expect(() => parseQuota('lots')).toThrow();
  });
});
