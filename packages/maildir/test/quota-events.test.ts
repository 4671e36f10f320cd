import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RedisServer, startRedis, waitFor } from '@postamt/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliver,
  MaildirError,
  MaildirStore,
  type MailEvent,
  quotaUsage,
  redisPublisher,
  subscribeMailEvents,
  withEvents,
} from '../src/index.js';
import { msg, tempRoot } from './helpers.js';

describe('quota', () => {
  it('refuses delivery over the byte or message limit with a distinct error, leaving nothing behind', async () => {
    const root = tempRoot();
    const limit = { bytes: 100, messages: 3 };
    const d = (i: number, size: number) =>
      deliver({
        dir: root,
        deliveryKey: `Q${i}`,
        time: 1700000000 + i,
        host: 'mx',
        source: Buffer.alloc(size, 'x'),
        quota: { root, limit },
      });
    await d(1, 40);
    await d(2, 40);
    const err = await d(3, 40).catch((e) => e);
    expect(err).toBeInstanceOf(MaildirError);
    expect(err.code).toBe('over-quota');
    expect(await quotaUsage(root, limit)).toEqual({ bytes: 80, messages: 2 });
    // A retry of an accepted delivery is not counted twice.
    await d(2, 40);
    await d(4, 10);
    await expect(d(5, 1)).rejects.toMatchObject({ code: 'over-quota' }); // message limit
    expect(readFileSync(join(root, 'maildirsize'), 'utf8').split('\n')[0]).toBe('100S,3C');

    // The store counts appends, copies and expunges in the same file.
    const s = new MaildirStore({ root, quota: limit });
    await s.open('INBOX');
    await expect(s.append('INBOX', msg('x'))).rejects.toMatchObject({ code: 'over-quota' });
    await s.expunge('INBOX', [1, 2]);
    expect(await quotaUsage(root, limit)).toEqual({ bytes: 10, messages: 1 });
    await s.append('INBOX', Buffer.alloc(50, 'y'));
    await expect(s.copy('INBOX', [4], 'Trash')).rejects.toMatchObject({ code: 'over-quota' });
    // A changed limit recalculates from the folders.
    expect(await quotaUsage(root, { bytes: 1000 })).toEqual({ bytes: 60, messages: 2 });
  });
});

describe('events', () => {
  let server: RedisServer;
  let pub: Redis;
  let sub: Redis;
  beforeAll(async () => {
    server = await startRedis();
    pub = new Redis(server.url);
    sub = new Redis(server.url);
  });
  afterAll(async () => {
    pub.disconnect();
    sub.disconnect();
    await server.stop();
  });

  it('publishes new-mail, flag and expunge events on the user channel', async () => {
    const events: MailEvent[] = [];
    const stop = await subscribeMailEvents(sub, 'alice@example.test', (e) => events.push(e));
    const s = withEvents(new MaildirStore({ root: tempRoot() }), redisPublisher(pub, 'alice@example.test'));
    const { uid } = await s.append('INBOX', msg('hi'));
    await s.setFlags('INBOX', [uid], 'add', ['\\Seen']);
    await s.move('INBOX', [uid], 'Archive');
    await s.expunge('Archive', [1]);
    await waitFor('five events', async () => events.length >= 5, 5000);
    expect(events).toEqual([
      { type: 'new', folder: 'INBOX', uids: [1] },
      { type: 'flags', folder: 'INBOX', uids: [1] },
      { type: 'expunge', folder: 'INBOX', uids: [1] },
      { type: 'new', folder: 'Archive', uids: [1] },
      { type: 'expunge', folder: 'Archive', uids: [1] },
    ]);
    await stop();
  });
});
