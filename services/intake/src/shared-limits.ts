// Per-client rate limits shared by every intake replica: new connections,
// messages and recipients per client address per window are counted in Redis,
// so a client gets the configured rate in total, not once per replica.
//
//   postamt:limit:<kind>:<client>:<window index>   INCR, expires after two windows
//
// Every event is counted in this process too (ClientLimits). That local count
// is the fast path — it can only be lower than the shared one, so when it is
// already over the limit the client is refused without asking Redis — and the
// fallback: when Redis is down or slow the limiter fails open to per-process
// limits, and says so in the log (at most once a minute). Concurrent
// connections stay per process: a replica that crashes could not take its
// open connections out of a shared count.
import {
  type ClientLimiter,
  type ClientLimitOptions,
  ClientLimits,
  clientKey,
  type RateKind,
} from '@postamt/smtp-server';

interface RedisCounter {
  pipeline(): {
    incr(key: string): unknown;
    pexpire(key: string, ms: number): unknown;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
}

interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const PREFIX = 'postamt:limit:';
const LOG_EVERY_MS = 60_000;

export class SharedClientLimits implements ClientLimiter {
  readonly local: ClientLimits;
  private lastWarning = 0;
  private degraded = false;

  constructor(
    private readonly redis: RedisCounter,
    options: ClientLimitOptions,
    private readonly log: Log,
    private readonly deadlineMs = 250,
    now: () => number = Date.now,
  ) {
    this.local = new ClientLimits(options, now);
  }

  async openConnection(ip: string): Promise<boolean> {
    if (!this.local.openConcurrent(ip)) return false;
    if (await this.take(ip, 'connections')) return true;
    this.local.closeConnection(ip);
    return false;
  }

  closeConnection(ip: string): void {
    this.local.closeConnection(ip);
  }

  takeMessage(ip: string): Promise<boolean> {
    return this.take(ip, 'messages');
  }

  takeRecipient(ip: string): Promise<boolean> {
    return this.take(ip, 'recipients');
  }

  private async take(ip: string, kind: RateKind): Promise<boolean> {
    const limit = this.local.limit(kind);
    if (limit <= 0 || this.local.exempt(ip)) return true;
    if (!this.local.take(ip, kind)) return false;
    const key = `${PREFIX}${kind}:${clientKey(ip)}:${this.local.windowIndex()}`;
    try {
      const n = await this.count(key);
      this.recovered();
      return n <= limit;
    } catch (err) {
      this.failOpen(err as Error);
      return true; // the local count allowed it
    }
  }

  private async count(key: string): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.deadlineMs} ms`)), this.deadlineMs);
    });
    const pipeline = this.redis.pipeline();
    pipeline.incr(key);
    pipeline.pexpire(key, 2 * this.local.o.windowMs);
    try {
      const replies = await Promise.race([pipeline.exec(), deadline]);
      const [err, n] = replies?.[0] ?? [new Error('no reply'), null];
      if (err) throw err;
      return Number(n);
    } finally {
      clearTimeout(timer);
    }
  }

  private failOpen(err: Error): void {
    const now = Date.now();
    this.degraded = true;
    if (now - this.lastWarning < LOG_EVERY_MS) return;
    this.lastWarning = now;
    this.log.warn(
      { err: err.message },
      'client rate limits cannot reach Redis: counting per process until it is back',
    );
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.lastWarning = 0;
    this.log.info({}, 'client rate limits shared through Redis again');
  }
}
