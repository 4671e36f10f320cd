// The audit trail: every change made through the admin API (or the CLI in
// direct mode) is one pino line tagged `audit: true` and one JSON entry pushed
// onto a capped Redis list, newest first:
//
//   postamt:admin:audit   list of {at, actor, tokenId, action, target, detail}
//
// Secrets (passwords, tokens, private keys) are never part of an entry.
import type { Logger } from '@postamt/observability';
import type { Redis } from 'ioredis';

const KEY = 'postamt:admin:audit';

export interface AuditEntry {
  at: string;
  actor: string;
  tokenId: string | null;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly keep = 100_000,
  ) {}

  async record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    this.logger.info({ audit: true, ...full }, `audit: ${full.action} ${full.target}`);
    await this.redis
      .multi()
      .lpush(KEY, JSON.stringify(full))
      .ltrim(KEY, 0, this.keep - 1)
      .exec();
  }

  async recent(limit: number, offset = 0): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(KEY, offset, offset + limit - 1);
    return raw.map((r) => JSON.parse(r) as AuditEntry);
  }
}
