// Recently verified logins, so a client that reconnects (phones on every
// wake-up, Thunderbird with five connections, a reconnect storm after a
// restart) does not pay an argon2 verification each time — the role of
// Dovecot's auth cache. Only successes are kept; failures always pay the full
// price, which keeps guessing slow.
//
// An entry holds the stored hash it was verified against and an HMAC of the
// password under a key that lives only in this process's memory: a changed
// password (new stored hash) or a disabled account (checked by the caller
// before the cache is asked) takes effect at once, and the cache never holds
// a password or a reusable verifier.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface Entry {
  storedHash: string;
  mac: Buffer;
  expires: number;
}

export class LoginCache {
  private readonly key = randomBytes(32);
  /** Map order is insertion order: the first key is the oldest entry. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(userKey: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(userKey).update('\0').update(password).digest();
  }

  /** True when this password was verified against this stored hash within the TTL. */
  has(userKey: string, storedHash: string, password: string): boolean {
    if (this.ttlMs <= 0) return false;
    const e = this.entries.get(userKey);
    if (!e) return false;
    if (e.expires <= this.now() || e.storedHash !== storedHash) {
      this.entries.delete(userKey);
      return false;
    }
    return timingSafeEqual(e.mac, this.mac(userKey, password));
  }

  remember(userKey: string, storedHash: string, password: string): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(userKey);
    this.entries.set(userKey, {
      storedHash,
      mac: this.mac(userKey, password),
      expires: this.now() + this.ttlMs,
    });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
