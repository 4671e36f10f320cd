// Per-destination limits shared by every relay replica, kept in Redis (BullMQ's
// group limiter is not available to us):
//
//   concurrency  at most `concurrency` deliveries to one destination at once
//                (Postfix default_destination_concurrency_limit): a sorted set
//                of leases scored by expiry; a crashed replica's lease lapses
//                after `leaseMs`, a live one is renewed while it works.
//   rate         at most `ratePerSecond` deliveries per second with bursts of
//                `burst` (Postfix default_destination_rate_delay, generalised):
//                a token bucket refilled by Redis time.
//
// A released lease is announced on a pub/sub channel and wakes the waiters of
// every replica at once (the longest waiter in each); besides, waiters poll
// with a growing, jittered delay (at most ~400 ms), which also notices leases
// that lapsed.
import { randomUUID } from 'node:crypto';
import type { Redis } from '@postamt/queue';

export interface LimiterOptions {
  concurrency: number;
  /** 0: no rate limit. */
  ratePerSecond: number;
  burst: number;
  leaseMs: number;
}

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0`;

/** Returns 0 when a token was taken, else the milliseconds until one will be there. */
const TAKE = `
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait`;

/** Frees a lease and tells every replica's waiters for the destination. */
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 0`;

/** Pub/sub channel on which released destinations are announced. */
export const FREED_CHANNEL = 'relay:limit:freed';

const slotsKey = (dest: string) => `relay:limit:slots:${dest}`;
const bucketKey = (dest: string) => `relay:limit:rate:${dest}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The scripts as ioredis commands: sent by EVALSHA, not re-sent in full every time. */
const SCRIPTS = {
  relayLimitAcquire: ACQUIRE,
  relayLimitRenew: RENEW,
  relayLimitTake: TAKE,
  relayLimitRelease: RELEASE,
} as const;

type Scripts = Record<keyof typeof SCRIPTS, (key: string, ...args: string[]) => Promise<unknown>>;

function scripts(redis: Redis): Scripts {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
  return redis as unknown as Scripts;
}

export class DestinationLimiter {
  private readonly wake = new Map<string, Set<() => void>>();
  private readonly lua: Scripts;

  constructor(
    redis: Redis,
    private readonly o: LimiterOptions,
    /** A connection of its own for SUBSCRIBE, so other replicas' releases wake waiters here at once. */
    subscriber?: Redis,
  ) {
    this.lua = scripts(redis);
    if (subscriber) {
      subscriber.subscribe(FREED_CHANNEL).catch(() => {});
      subscriber.on('message', (channel: string, dest: string) => {
        if (channel === FREED_CHANNEL) this.wakeUp(dest);
      });
    }
  }

  async run<T>(dest: string, fn: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(dest);
    const renew = setInterval(
      () => {
        this.lua.relayLimitRenew(slotsKey(dest), String(this.o.leaseMs), lease).catch(() => {});
      },
      Math.max(100, Math.floor(this.o.leaseMs / 3)),
    );
    renew.unref();
    try {
      await this.rate(dest);
      return await fn();
    } finally {
      clearInterval(renew);
      await this.lua.relayLimitRelease(slotsKey(dest), lease, FREED_CHANNEL, dest).catch(() => {});
      this.wakeUp(dest);
    }
  }

  /** One freed lease, one waiter woken (the longest waiting): no thundering herd on Redis. */
  private wakeUp(dest: string): void {
    const first = this.wake.get(dest)?.values().next();
    if (first && !first.done) first.value();
  }

  /** Takes a rate token without waiting: 0, or how long until one is due. */
  async tryToken(dest: string): Promise<number> {
    if (this.o.ratePerSecond <= 0) return 0;
    const wait = await this.lua.relayLimitTake(
      bucketKey(dest),
      String(this.o.ratePerSecond),
      String(Math.max(1, this.o.burst)),
    );
    return Number(wait);
  }

  private async acquire(dest: string): Promise<string> {
    const lease = randomUUID();
    let delay = 10;
    for (;;) {
      const got = await this.lua.relayLimitAcquire(
        slotsKey(dest),
        String(this.o.concurrency),
        String(this.o.leaseMs),
        lease,
      );
      if (Number(got) === 1) return lease;
      // Jitter keeps replicas from polling in lockstep.
      await this.waitFor(dest, delay + Math.random() * delay);
      // Releases wake waiters through pub/sub; polling is the fallback (lapsed leases).
      delay = Math.min(delay * 2, 200);
    }
  }

  private async rate(dest: string): Promise<void> {
    for (;;) {
      const wait = await this.tryToken(dest);
      if (wait <= 0) return;
      await sleep(Math.min(wait, 1000));
    }
  }

  /** Sleeps `ms`, or less if a local lease on `dest` is released meanwhile. */
  private waitFor(dest: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.wake.get(dest) ?? new Set();
      this.wake.set(dest, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.wake.delete(dest);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }
}
