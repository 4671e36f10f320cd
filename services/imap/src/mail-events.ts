// Mail events for the sessions of this process: one Redis subscriber
// connection per process (not per session), one channel subscription per
// user with sessions here, fanned out to those sessions. Events come from
// every writer of the volume — this and other IMAP processes, POP3, and the
// filter delivering on any machine — so IDLE hears news at once. An event
// only says "look again": the sessions of the folder that hear it share one
// read of it (shared-folders.ts) and each works out what changed for itself,
// so a lost event (Redis away) delays news until the next poll, never more.
import type { MailEvent } from '@postamt/maildir';
import { subscribeMailEvents } from '@postamt/maildir';
import type { Logger } from '@postamt/observability';
import type { Redis } from '@postamt/queue';

export type { MailEvent };

export interface MailEventSource {
  /** Calls `onEvent` for each event of the user; returns the stop function. */
  watch(userKey: string, onEvent: (event: MailEvent) => void): () => void;
}

/** For tools and tests without Redis: nothing is ever heard. */
export const noEvents: MailEventSource = { watch: () => () => {} };

interface UserFeed {
  listeners: Set<(event: MailEvent) => void>;
  stop: Promise<(() => Promise<void>) | null>;
}

export class RedisMailEvents implements MailEventSource {
  private readonly users = new Map<string, UserFeed>();

  constructor(
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {}

  watch(userKey: string, onEvent: (event: MailEvent) => void): () => void {
    let feed = this.users.get(userKey);
    if (!feed) {
      const listeners = new Set<(event: MailEvent) => void>();
      const stop = subscribeMailEvents(this.subscriber, userKey, (e) => {
        for (const l of listeners) l(e);
      }).catch((err: unknown) => {
        // Sessions still poll; they just hear of changes later.
        this.logger.warn({ err: (err as Error).message }, 'mail event subscription failed');
        return null;
      });
      feed = { listeners, stop };
      this.users.set(userKey, feed);
    }
    const f = feed;
    f.listeners.add(onEvent);
    return () => {
      if (!f.listeners.delete(onEvent) || f.listeners.size > 0) return;
      this.users.delete(userKey);
      void f.stop.then((stop) => stop?.()).catch(() => {});
    };
  }

  /** Users with at least one session listening (for metrics and tests). */
  get watchedUsers(): number {
    return this.users.size;
  }
}
