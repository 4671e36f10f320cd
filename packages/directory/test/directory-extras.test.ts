import { execFileSync } from 'node:child_process';
import { type RedisServer, startRedis } from '@postamt/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Directory, hashScheme, needsRehash, sha512Crypt, verifyPassword } from '../src/index.js';

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
  await dir.addDomain('example.test');
});

describe('SHA512-CRYPT', () => {
  it('matches the test vectors of the specification', () => {
    expect(sha512Crypt('Hello world!', '$6$saltstring')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    expect(sha512Crypt('Hello world!', '$6$rounds=10000$saltstringsaltstring')).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
  });

  it('agrees with openssl passwd -6 for long passwords', () => {
    let expected: string;
    try {
      expected = execFileSync('openssl', ['passwd', '-6', '-salt', 'abcdefgh', 'p'.repeat(200)])
        .toString()
        .trim();
    } catch {
      return; // no openssl here: the spec vectors above still hold
    }
    expect(sha512Crypt('p'.repeat(200), '$6$abcdefgh')).toBe(expected);
  });

  it('verifies imported hashes and rehashes them to argon2id at login', async () => {
    const imported = `{SHA512-CRYPT}${sha512Crypt('s3cret', '$6$importsalt')}`;
    expect(await verifyPassword(imported, 's3cret')).toBe(true);
    expect(await verifyPassword(imported, 'wrong')).toBe(false);
    expect(hashScheme('$6$x$y').scheme).toBe('SHA512-CRYPT');
    expect(hashScheme('$2y$10$abc').scheme).toBe('BLF-CRYPT');
    await dir.putUser({ address: 'old@example.test', passwordHash: imported });
    expect(await dir.authenticate('old@example.test', 's3cret')).not.toBeNull();
    const after = await dir.getUser('old@example.test');
    expect(after?.passwordHash).toMatch(/^\{ARGON2ID\}/);
    expect(needsRehash(after?.passwordHash ?? '')).toBe(false);
    expect(await dir.authenticate('old@example.test', 's3cret')).not.toBeNull();
  });

  it('verifies BLF-CRYPT (bcrypt) hashes made by libxcrypt, and refuses wrong passwords', async () => {
    // crypt(3) from libxcrypt: python3 crypt.crypt('s3cret', mksalt(METHOD_BLOWFISH, rounds=2**5))
    const stored = '{BLF-CRYPT}$2b$05$qpkisy7qgwGJyxojnT2rd.4myO98LqrHfIEGNhHXF9h3Vo9slswKq';
    expect(await verifyPassword(stored, 's3cret')).toBe(true);
    expect(await verifyPassword(stored, 'S3cret')).toBe(false);
    expect(await verifyPassword(stored.replace('$2b$', '$2y$'), 's3cret')).toBe(true);
    expect(needsRehash(stored)).toBe(true);
  });
});

describe('plus-addressing and catch-all', () => {
  it('delivers alice+tag@ to alice and keeps the tag, unless alice+tag exists itself', async () => {
    await dir.putUser({ address: 'alice@example.test', password: 'p' });
    const r = await dir.resolve('Alice+Lists.Rust@Example.test');
    expect(r).toMatchObject({ kind: 'user', user: { key: 'alice@example.test' }, detail: 'Lists.Rust' });
    expect((await dir.resolve('alice+@example.test')).kind).toBe('user');
    expect((await dir.resolve('bob+x@example.test')).kind).toBe('unknown');
    await dir.putAlias('alice+sales@example.test', ['ext@remote.example']);
    expect((await dir.resolve('alice+sales@example.test')).kind).toBe('alias');
    const ex = await dir.expand('alice+news@example.test');
    expect(ex.local.map((u) => u.key)).toEqual(['alice@example.test']);
    expect(ex.deliveries.map((d) => d.detail)).toEqual(['news']);
  });

  it('sends unknown local parts to the catch-all, but never shadows real users', async () => {
    await dir.putUser({ address: 'alice@example.test', password: 'p' });
    await dir.setCatchAll('example.test', ['alice@example.test']);
    expect(await dir.resolve('anything@example.test')).toEqual({
      kind: 'alias',
      targets: ['alice@example.test'],
      catchAll: true,
    });
    expect((await dir.resolve('alice@example.test')).kind).toBe('user');
    expect((await dir.expand('random@example.test')).local.map((u) => u.key)).toEqual(['alice@example.test']);
    await dir.setCatchAll('example.test', null);
    expect((await dir.resolve('anything@example.test')).kind).toBe('unknown');
    await expect(dir.setCatchAll('elsewhere.example', ['a@example.test'])).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});

describe('removal', () => {
  it('removes users, aliases and whole domains', async () => {
    await dir.putUser({ address: 'alice@example.test', password: 'p' });
    await dir.putUser({ address: 'bob@example.test', password: 'p' });
    await dir.putAlias('team@example.test', ['alice@example.test']);
    await dir.setCatchAll('example.test', ['bob@example.test']);
    expect(await dir.listMembers('example.test')).toEqual([
      'alice@example.test',
      'bob@example.test',
      'team@example.test',
    ]);
    expect(await dir.removeUser('ALICE@example.test')).toBe(true);
    expect(await dir.removeUser('alice@example.test')).toBe(false);
    expect(await dir.getUser('alice@example.test')).toBeNull();
    expect(await dir.removeAlias('team@example.test')).toBe(true);
    expect(await dir.listMembers('example.test')).toEqual(['bob@example.test']);
    expect(await dir.removeDomain('Example.TEST')).toBe(true);
    expect(await dir.isLocalDomain('example.test')).toBe(false);
    expect(await dir.getUser('bob@example.test')).toBeNull();
    expect(await dir.getCatchAll('example.test')).toBeNull();
    expect((await dir.resolve('bob@example.test')).kind).toBe('remote');
    expect(await redis.keys('postamt:dir:*')).toEqual([]);
  });
});

describe("resolve on an auto-pipelining connection (the intake's)", () => {
  it('gives the same answers as the pipelined lookup', async () => {
    const auto = new Redis(server.url, { enableAutoPipelining: true });
    try {
      const autoDir = new Directory(auto);
      await dir.putUser({ address: 'alice@example.test', password: 'p' });
      await dir.putAlias('team@example.test', ['alice@example.test']);
      await dir.putAlias('alice+sales@example.test', ['ext@remote.example']);
      const addresses = [
        'alice@example.test',
        'Alice+Lists@Example.test',
        'alice+sales@example.test',
        'team@example.test',
        'nobody@example.test',
        'x@remote.example',
        'not an address',
      ];
      const before = await Promise.all(addresses.map((a) => dir.resolve(a)));
      // All at once: the lookups of several sessions share one write.
      expect(await Promise.all(addresses.map((a) => autoDir.resolve(a)))).toEqual(before);
      expect(before.map((r) => r.kind)).toEqual([
        'user',
        'user',
        'alias',
        'alias',
        'unknown',
        'remote',
        'unknown',
      ]);
      await dir.setCatchAll('example.test', ['alice@example.test']);
      expect(await autoDir.resolve('nobody@example.test')).toEqual(await dir.resolve('nobody@example.test'));
      expect((await autoDir.resolve('nobody@example.test')).kind).toBe('alias');
    } finally {
      auto.disconnect();
    }
  });
});
