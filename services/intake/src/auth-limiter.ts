// Failed-login limits for submission AUTH, kept in Redis so every intake
// replica sees the same counts (RFC 4954 §9: servers should limit guessing).
// Failures are counted per client address and per account name within a
// window; reaching the limit locks that address or account for a while, and
// each further lockout within a day doubles the time, up to a maximum. While
// locked, logins are answered 454 without checking the password at all, so a
// guess during a lockout reveals nothing.
//
//   postamt:auth:fail:<scope>:<id>    failures in the current window (PX window)
//   postamt:auth:lock:<scope>:<id>    present while locked (PX lockout)
//   postamt:auth:level:<scope>:<id>   lockouts in the last day (the backoff level)
import type { Redis } from '@postamt/queue';

export type LockScope = 'ip' | 'account';

export interface AuthLimits {
  maxFailures: Record<LockScope, number>;
  windowMs: number;
  lockoutMs: number;
  lockoutMaxMs: number;
}

export interface Lock {
  scope: LockScope;
  /** Milliseconds left (locked) or the new lockout's length (just locked). */
  ms: number;
}

const LEVEL_TTL_MS = 24 * 3600_000;
const key = (kind: string, scope: LockScope, id: string) => `postamt:auth:${kind}:${scope}:${id}`;

export class AuthLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: AuthLimits,
  ) {}

  private ids(ip: string, account: string | undefined): [LockScope, string][] {
    const out: [LockScope, string][] = [['ip', ip]];
    if (account) out.push(['account', account.trim().toLowerCase()]);
    return out;
  }

  /** The first lock that applies, or null. */
  async locked(ip: string, account?: string): Promise<Lock | null> {
    for (const [scope, id] of this.ids(ip, account)) {
      const ms = await this.redis.pttl(key('lock', scope, id));
      if (ms > 0) return { scope, ms };
    }
    return null;
  }

  /** Counts one failure; returns the locks it started. */
  async failed(ip: string, account?: string): Promise<Lock[]> {
    const started: Lock[] = [];
    for (const [scope, id] of this.ids(ip, account)) {
      const fail = key('fail', scope, id);
      const n = await this.redis.incr(fail);
      if (n === 1) await this.redis.pexpire(fail, this.limits.windowMs);
      if (n < this.limits.maxFailures[scope]) continue;
      const level = await this.redis.incr(key('level', scope, id));
      await this.redis.pexpire(key('level', scope, id), LEVEL_TTL_MS);
      const ms = Math.min(this.limits.lockoutMs * 2 ** Math.min(level - 1, 30), this.limits.lockoutMaxMs);
      await this.redis
        .multi()
        .set(key('lock', scope, id), '1', 'PX', ms)
        .del(fail)
        .exec();
      started.push({ scope, ms });
    }
    return started;
  }

  /** A successful login clears the account's failures (not the address's: one success does not excuse many guesses). */
  async succeeded(account: string): Promise<void> {
    await this.redis.del(key('fail', 'account', account.trim().toLowerCase()));
  }
}
