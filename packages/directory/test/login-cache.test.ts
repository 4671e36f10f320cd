import { type RedisServer, startRedis } from '@postamt/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Directory } from '../src/index.js';
import { LoginCache } from '../src/login-cache.js';
import * as passwords from '../src/passwords.js';

describe('LoginCache', () => {
  it('remembers a verified password for its stored hash until the TTL ends', () => {
    let now = 1_000;
    const cache = new LoginCache(60_000, 10, () => now);
    cache.remember('alice@example.test', '{ARGON2ID}h1', 'secret');
    expect(cache.has('alice@example.test', '{ARGON2ID}h1', 'secret')).toBe(true);
    expect(cache.has('alice@example.test', '{ARGON2ID}h1', 'Secret')).toBe(false);
    expect(cache.has('bob@example.test', '{ARGON2ID}h1', 'secret')).toBe(false);
    // A new stored hash (password changed elsewhere) forgets the entry.
    expect(cache.has('alice@example.test', '{ARGON2ID}h2', 'secret')).toBe(false);
    expect(cache.has('alice@example.test', '{ARGON2ID}h1', 'secret')).toBe(false);
    cache.remember('alice@example.test', '{ARGON2ID}h1', 'secret');
    now += 60_000;
    expect(cache.has('alice@example.test', '{ARGON2ID}h1', 'secret')).toBe(false);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new LoginCache(60_000, 2);
    cache.remember('a', 'h', 'p');
    cache.remember('b', 'h', 'p');
    cache.remember('c', 'h', 'p');
    expect(cache.size).toBe(2);
    expect(cache.has('a', 'h', 'p')).toBe(false);
    expect(cache.has('c', 'h', 'p')).toBe(true);
  });

  it('is off with a TTL of 0', () => {
    const cache = new LoginCache(0);
    cache.remember('a', 'h', 'p');
    expect(cache.has('a', 'h', 'p')).toBe(false);
  });
});

describe('Directory.authenticate with the login cache', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('verifies the hash once per TTL, but sees password changes and disabled accounts at once', async () => {
    const dir = new Directory(redis);
    const admin = new Directory(redis, { loginCacheTtlMs: 0 });
    await dir.addDomain('example.test');
    await dir.putUser({ address: 'alice@example.test', password: 'secret' });
    const verify = vi.spyOn(passwords, 'verifyPassword');
    expect(await dir.authenticate('alice@example.test', 'secret')).not.toBeNull();
    expect(await dir.authenticate('alice@example.test', 'secret')).not.toBeNull();
    expect(await dir.authenticate('Alice@Example.test', 'secret')).not.toBeNull();
    expect(verify).toHaveBeenCalledTimes(1);
    // A wrong password is always verified in full, never answered from the cache.
    expect(await dir.authenticate('alice@example.test', 'guess')).toBeNull();
    expect(await dir.authenticate('alice@example.test', 'guess')).toBeNull();
    expect(verify).toHaveBeenCalledTimes(3);
    // Changed by another process (the admin service): the old password stops working.
    await admin.putUser({ address: 'alice@example.test', password: 'changed' });
    expect(await dir.authenticate('alice@example.test', 'secret')).toBeNull();
    expect(await dir.authenticate('alice@example.test', 'changed')).not.toBeNull();
    await admin.putUser({ address: 'alice@example.test', enabled: false });
    expect(await dir.authenticate('alice@example.test', 'changed')).toBeNull();
    verify.mockRestore();
  });
});
