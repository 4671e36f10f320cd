// Whose spamd store scores a message (pure rule), and the training counts in a
// real Redis: a message told twice counts once, told as the other class it moves.
import { connectRedis, type Redis } from '@postamt/queue';
import { type RedisServer, startRedis, textMessage } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CachedTrainingCounts,
  chooseSpamUser,
  learnUsers,
  RedisTrainingCounts,
  type SpamUserPolicy,
  SpamUsers,
} from '../src/spam-user.js';

const policy: SpamUserPolicy = { perUser: true, siteUser: 'postamt-site', min: { spam: 3, ham: 2 } };

describe('chooseSpamUser', () => {
  it("scores a sole recipient's mail with their store only past both minimums", () => {
    expect(chooseSpamUser(policy, 'bob@example.test', { spam: 3, ham: 2 })).toBe('bob@example.test');
    expect(chooseSpamUser(policy, 'bob@example.test', { spam: 2, ham: 50 })).toBe('postamt-site');
    expect(chooseSpamUser(policy, 'bob@example.test', { spam: 50, ham: 1 })).toBe('postamt-site');
  });

  it('scores mail for several recipients (or none local) as the site user', () => {
    expect(chooseSpamUser(policy, undefined, null)).toBe('postamt-site');
  });

  it('sends no User: at all when per-user Bayes is off', () => {
    const off = { ...policy, perUser: false };
    expect(chooseSpamUser(off, 'bob@example.test', { spam: 500, ham: 500 })).toBeUndefined();
    expect(learnUsers(off, 'bob@example.test')).toEqual([undefined]);
  });

  it("learns into the user's store and the site store; the site user's own jobs once", () => {
    expect(learnUsers(policy, 'bob@example.test')).toEqual(['bob@example.test', 'postamt-site']);
    expect(learnUsers(policy, 'postamt-site')).toEqual(['postamt-site']);
  });
});

describe('RedisTrainingCounts with SpamUsers', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = connectRedis(server.url, 'worker');
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('counts distinct messages per class and switches the user once trained', async () => {
    const counts = new RedisTrainingCounts(redis);
    const users = new SpamUsers(policy, counts);
    const bob = 'bob@example.test';
    const spam = [1, 2, 3].map((i) => textMessage(`spam ${i}`));
    const ham = [1, 2].map((i) => textMessage(`ham ${i}`));

    for (const m of spam.slice(0, 2)) await counts.record(bob, m, 'spam');
    await counts.record(bob, spam[0] as Buffer, 'spam'); // told twice: counted once
    for (const m of ham) await counts.record(bob, m, 'ham');
    expect(await counts.get(bob)).toEqual({ spam: 2, ham: 2 });
    expect(await users.forMessage([bob], 0)).toBe('postamt-site');

    await counts.record(bob, spam[2] as Buffer, 'spam');
    expect(await users.forMessage([bob], 0)).toBe(bob);
    // Several recipients, or a remote one too: scanned once, as the site.
    expect(await users.forMessage([bob, 'alice@example.test'], 0)).toBe('postamt-site');
    expect(await users.forMessage([bob], 1)).toBe('postamt-site');

    // A ham re-learned as spam moves between the counts: bob drops below the ham minimum.
    await counts.record(bob, ham[0] as Buffer, 'spam');
    expect(await counts.get(bob)).toEqual({ spam: 4, ham: 1 });
    expect(await users.forMessage([bob], 0)).toBe('postamt-site');
    expect(await counts.get('carol@example.test')).toEqual({ spam: 0, ham: 0 });
  });

  it('cached counts are reused until they expire, and dropped by our own training', async () => {
    const redisCounts = new RedisTrainingCounts(redis);
    let clock = 0;
    const cached = new CachedTrainingCounts(redisCounts, 1_000, () => clock);
    const dave = 'dave@example.test';
    expect(await cached.get(dave)).toEqual({ spam: 0, ham: 0 });
    // Another process trains dave: seen only once the entry expires.
    await redisCounts.record(dave, textMessage('spam a'), 'spam');
    expect(await cached.get(dave)).toEqual({ spam: 0, ham: 0 });
    clock = 1_000;
    expect(await cached.get(dave)).toEqual({ spam: 1, ham: 0 });
    // Training through the cache is seen at once.
    await cached.record(dave, textMessage('ham a'), 'ham');
    expect(await cached.get(dave)).toEqual({ spam: 1, ham: 1 });
  });
});
