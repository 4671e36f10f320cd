// Connection reuse (Postfix's connection cache, smtp_connection_cache_*): a
// session that ended its transaction in good shape is parked per destination
// for a short idle time, and the next message to that destination takes it
// after an RSET (RFC 5321 §4.1.1.5) instead of connecting, greeting, EHLO-ing
// and negotiating TLS again. A parked session that died, or whose RSET fails,
// is dropped and the caller connects afresh. The parked session keeps the
// checks its destination passed when it was opened.
import type { SmtpSession } from './smtp-client.js';

interface Parked {
  session: SmtpSession;
  timer: NodeJS.Timeout;
}

export class SessionPool {
  private readonly idle = new Map<string, Parked[]>();

  constructor(
    /** How long a session may sit unused; 0 turns reuse off. */
    private readonly idleMs: number,
    /** Parked sessions per destination at most. */
    private readonly maxPerKey: number,
  ) {}

  /** A live session to `key`, reset and ready for MAIL FROM, or null. */
  async take(key: string): Promise<SmtpSession | null> {
    const list = this.idle.get(key);
    while (list?.length) {
      const p = list.pop() as Parked;
      if (list.length === 0) this.idle.delete(key);
      clearTimeout(p.timer);
      if (!p.session.usable) continue;
      try {
        await p.session.reset();
        return p.session;
      } catch {
        p.session.close();
      }
    }
    return null;
  }

  /** Parks `session` for the next message to `key`, or closes it. */
  put(key: string, session: SmtpSession): void {
    const list = this.idle.get(key) ?? [];
    if (this.idleMs <= 0 || !session.usable || list.length >= this.maxPerKey) {
      session.close();
      return;
    }
    const p: Parked = {
      session,
      timer: setTimeout(() => {
        const l = this.idle.get(key);
        const i = l?.indexOf(p) ?? -1;
        if (l && i >= 0) l.splice(i, 1);
        if (l?.length === 0) this.idle.delete(key);
        session.close();
      }, this.idleMs),
    };
    p.timer.unref();
    list.push(p);
    this.idle.set(key, list);
  }

  /** QUITs every parked session (at shutdown). */
  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const p of list) {
        clearTimeout(p.timer);
        p.session.close();
      }
    }
    this.idle.clear();
  }
}
