// Remembers a message's scan report between attempts of its job, so a retry
// (after a crash between recipients, or a Maildir error) reuses the first
// decision instead of scanning again and perhaps deciding otherwise — which
// could put a second copy in another folder. SET NX: the first writer wins,
// also when two workers race on one job.
import type { Redis } from '@postamt/queue';
import type { ScanReport } from './scan.js';

const TTL_SECONDS = 7 * 24 * 3600;

export interface VerdictStore {
  get(id: string): Promise<ScanReport | null>;
  /** Stores `report` unless one exists; returns the one that counts. */
  put(id: string, report: ScanReport): Promise<ScanReport>;
  delete(id: string): Promise<void>;
}

export class RedisVerdictStore implements VerdictStore {
  constructor(private readonly redis: Redis) {}

  private key(id: string): string {
    return `filter:scan:${id}`;
  }

  async get(id: string): Promise<ScanReport | null> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as ScanReport) : null;
  }

  async put(id: string, report: ScanReport): Promise<ScanReport> {
    const set = await this.redis.set(this.key(id), JSON.stringify(report), 'EX', TTL_SECONDS, 'NX');
    return set === 'OK' ? report : ((await this.get(id)) ?? report);
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
