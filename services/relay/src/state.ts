// Per-message delivery state in Redis, so a partial success is never sent
// again and a crashed relay's successor knows where it stood:
//
//   relay:rcpt:<id>   hash  recipient → final outcome (sent | bounced), written
//                           as soon as the remote server answered for it
//   relay:msg:<id>    hash  attempts, first/last attempt, next attempt, last error, warned
//   relay:queue       zset  id → next attempt (ms), for the admin queue view
//   relay:dsn:<id>:<kind>   the spool id chosen for a DSN, so it is spooled once
//
// Keys expire well after the message could still be in the queue, so nothing
// lingers if a crash interrupts the clean-up.
import type { Redis } from '@postamt/queue';

export interface FinalRecord {
  state: 'sent' | 'bounced';
  status?: string;
  text: string;
  /** The remote server's reply, when one decided. */
  smtp?: string;
  host?: string;
  checks?: string;
  /** The next hop advertised DSN and took the recipient's NOTIFY/ORCPT. */
  dsn?: boolean;
  at: number;
  /** The DSN for this recipient has been spooled (or none was due). */
  reported?: boolean;
}

export interface MessageMeta {
  attempts: number;
  first: number;
  last?: number;
  next?: number;
  lastError?: string;
  warned: boolean;
  sender?: string;
}

const rcptKey = (id: string) => `relay:rcpt:${id}`;
const msgKey = (id: string) => `relay:msg:${id}`;
const QUEUE = 'relay:queue';

export class RelayState {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  async finals(id: string): Promise<Map<string, FinalRecord>> {
    const raw = await this.redis.hgetall(rcptKey(id));
    return new Map(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as FinalRecord]));
  }

  /** Records final outcomes at once, before anything else happens. */
  async setFinals(id: string, records: Map<string, FinalRecord>): Promise<void> {
    if (records.size === 0) return;
    const args: string[] = [];
    for (const [k, v] of records) args.push(k, JSON.stringify(v));
    await this.redis
      .multi()
      .hset(rcptKey(id), ...args)
      .expire(rcptKey(id), this.ttlSeconds)
      .exec();
  }

  async meta(id: string): Promise<MessageMeta | null> {
    const m = await this.redis.hgetall(msgKey(id));
    if (!m.first) return null;
    return {
      attempts: Number(m.attempts ?? 0),
      first: Number(m.first),
      ...(m.last ? { last: Number(m.last) } : {}),
      ...(m.next ? { next: Number(m.next) } : {}),
      ...(m.lastError ? { lastError: m.lastError } : {}),
      warned: m.warned === '1',
      ...(m.sender !== undefined ? { sender: m.sender } : {}),
    };
  }

  async saveMeta(id: string, meta: MessageMeta): Promise<void> {
    const fields: Record<string, string> = {
      attempts: String(meta.attempts),
      first: String(meta.first),
      warned: meta.warned ? '1' : '0',
    };
    if (meta.last !== undefined) fields.last = String(meta.last);
    if (meta.next !== undefined) fields.next = String(meta.next);
    if (meta.lastError !== undefined) fields.lastError = meta.lastError;
    if (meta.sender !== undefined) fields.sender = meta.sender;
    const tx = this.redis.multi().hset(msgKey(id), fields).expire(msgKey(id), this.ttlSeconds);
    if (meta.next !== undefined) tx.zadd(QUEUE, meta.next, id);
    await tx.exec();
  }

  /** The spool id to use for a DSN of `kind`: the first caller's choice wins. */
  async dsnId(id: string, kind: string, proposed: string): Promise<string> {
    const key = `relay:dsn:${id}:${kind}`;
    const set = await this.redis.set(key, proposed, 'EX', this.ttlSeconds, 'NX');
    if (set === 'OK') return proposed;
    return (await this.redis.get(key)) ?? proposed;
  }

  async forget(id: string): Promise<void> {
    await this.redis.multi().del(rcptKey(id), msgKey(id)).zrem(QUEUE, id).exec();
  }

  /** Ids waiting for another attempt, soonest first. */
  async waiting(limit: number): Promise<{ id: string; next: number }[]> {
    const flat = await this.redis.zrange(QUEUE, '0', String(limit - 1), 'WITHSCORES');
    const out: { id: string; next: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ id: flat[i] as string, next: Number(flat[i + 1]) });
    return out;
  }
}
