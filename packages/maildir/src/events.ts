// Mail events on Redis pub/sub, so IMAP IDLE sessions (RFC 2177) on any
// machine hear at once that something changed. One channel per user:
// `postamt:mail:<user key>`. An event says what kind of change and in which
// folder; the listener re-opens the folder (a cheap lockless sync) to learn
// the details, so a lost event only delays news until the next poll.
//
// withEvents() is a decorator (STYLE §4): it wraps any MailStore and
// publishes after each successful change. Delivery (the filter) is not a
// MailStore call, so it publishes with publishMailEvent() itself.
import type { Redis } from 'ioredis';
import type { FlagOp } from './flags.js';
import type { AppendOptions, CopyResult, FlagUpdate, MailStore, SetFlagsOptions } from './types.js';

export type MailEvent =
  | { type: 'new'; folder: string; uids?: number[] }
  | { type: 'flags'; folder: string; uids: number[] }
  | { type: 'expunge'; folder: string; uids: number[] }
  | { type: 'folders' };

export const mailChannel = (userKey: string): string => `postamt:mail:${userKey}`;

export type Publish = (event: MailEvent) => Promise<void>;

export function redisPublisher(redis: Redis, userKey: string): Publish {
  return async (event) => {
    await redis.publish(mailChannel(userKey), JSON.stringify(event));
  };
}

export async function publishMailEvent(redis: Redis, userKey: string, event: MailEvent): Promise<void> {
  await redis.publish(mailChannel(userKey), JSON.stringify(event));
}

/** Per subscriber connection: one 'message' listener dispatching by channel. */
const routes = new WeakMap<Redis, Map<string, Set<(event: MailEvent) => void>>>();

function routeTable(subscriber: Redis): Map<string, Set<(event: MailEvent) => void>> {
  let table = routes.get(subscriber);
  if (!table) {
    const t = new Map<string, Set<(event: MailEvent) => void>>();
    subscriber.on('message', (ch: string, message: string) => {
      const handlers = t.get(ch);
      if (!handlers) return;
      let event: MailEvent;
      try {
        event = JSON.parse(message) as MailEvent;
      } catch {
        return; // A malformed event is ignored; the next poll catches up.
      }
      for (const h of handlers) h(event);
    });
    routes.set(subscriber, t);
    table = t;
  }
  return table;
}

/**
 * Subscribes `subscriber` (a Redis connection in subscriber mode, shared by
 * all sessions of a process) to one user's events; returns the unsubscribe.
 * One 'message' listener per connection dispatches by channel, so thousands
 * of users cost a map lookup per event, not a listener each; the channel is
 * unsubscribed when its last handler goes.
 */
export async function subscribeMailEvents(
  subscriber: Redis,
  userKey: string,
  onEvent: (event: MailEvent) => void,
): Promise<() => Promise<void>> {
  const channel = mailChannel(userKey);
  const table = routeTable(subscriber);
  let handlers = table.get(channel);
  const first = !handlers;
  if (!handlers) {
    handlers = new Set();
    table.set(channel, handlers);
  }
  const handler = (e: MailEvent) => onEvent(e);
  handlers.add(handler);
  if (first) await subscriber.subscribe(channel);
  return async () => {
    const set = table.get(channel);
    if (!set?.delete(handler) || set.size > 0) return;
    table.delete(channel);
    await subscriber.unsubscribe(channel);
  };
}

/** Wraps a store so every change is published. A failed publish never fails the change. */
export function withEvents(
  store: MailStore,
  publish: Publish,
  onError: (err: unknown) => void = () => {},
): MailStore {
  const emit = (e: MailEvent) => publish(e).catch(onError);
  return {
    listFolders: () => store.listFolders(),
    async createFolder(name) {
      await store.createFolder(name);
      await emit({ type: 'folders' });
    },
    async deleteFolder(name) {
      await store.deleteFolder(name);
      await emit({ type: 'folders' });
    },
    async renameFolder(from, to) {
      await store.renameFolder(from, to);
      await emit({ type: 'folders' });
    },
    subscribe: (name) => store.subscribe(name),
    unsubscribe: (name) => store.unsubscribe(name),
    open: (folder) => store.open(folder),
    openMessage: (folder, uid) => store.openMessage(folder, uid),
    readMessage: (folder, uid) => store.readMessage(folder, uid),
    summaries: (folder, uids) => store.summaries(folder, uids),
    async setFlags(
      folder: string,
      uids: readonly number[],
      op: FlagOp,
      flags: readonly string[],
      opts?: SetFlagsOptions,
    ) {
      const r: FlagUpdate[] = await store.setFlags(folder, uids, op, flags, opts);
      const done = r.filter((u) => !u.modified);
      if (done.length > 0) await emit({ type: 'flags', folder, uids: done.map((u) => u.uid) });
      return r;
    },
    expungedSince: (folder, modseq) => store.expungedSince(folder, modseq),
    async append(folder: string, message: Buffer, opts?: AppendOptions) {
      const r = await store.append(folder, message, opts);
      await emit({ type: 'new', folder, uids: [r.uid] });
      return r;
    },
    async copy(from, uids, to) {
      const r: CopyResult = await store.copy(from, uids, to);
      if (r.pairs.length > 0) await emit({ type: 'new', folder: to, uids: r.pairs.map((p) => p[1]) });
      return r;
    },
    async move(from, uids, to) {
      const r: CopyResult = await store.move(from, uids, to);
      if (r.pairs.length > 0) {
        await emit({ type: 'expunge', folder: from, uids: r.pairs.map((p) => p[0]) });
        await emit({ type: 'new', folder: to, uids: r.pairs.map((p) => p[1]) });
      }
      return r;
    },
    async expunge(folder, uids) {
      const r = await store.expunge(folder, uids);
      if (r.length > 0) await emit({ type: 'expunge', folder, uids: r });
      return r;
    },
  };
}
