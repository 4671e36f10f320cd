// Allowlists the operators edit at run time through the admin API (stored in
// Redis sets `postamt:policy:<list>:allow`: IPs, CIDRs and domains), next to the
// ones fixed in config. Read at most every few seconds per process, so a change
// reaches every intake replica quickly without a Redis round trip per check.
import { type Cidr, inCidrs, parseCidr } from './ip.js';

export interface SetReader {
  smembers(key: string): Promise<string[]>;
}

export class DynamicAllowlist {
  private cidrs: Cidr[] = [];
  private domains = new Set<string>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly redis: SetReader,
    readonly key: string,
    private readonly maxAgeMs = 5000,
  ) {}

  private async refresh(): Promise<void> {
    if (Date.now() - this.loadedAt < this.maxAgeMs) return;
    this.loading ??= this.redis
      .smembers(this.key)
      .then((entries) => {
        const cidrs: Cidr[] = [];
        const domains = new Set<string>();
        for (const e of entries) {
          const c = parseCidr(e);
          if (c) cidrs.push(c);
          else domains.add(e.toLowerCase());
        }
        this.cidrs = cidrs;
        this.domains = domains;
        this.loadedAt = Date.now();
      })
      // Redis trouble: keep the last known list rather than failing the check.
      .catch(() => {})
      .finally(() => {
        this.loading = null;
      });
    await this.loading;
  }

  /** True when the client IP or one of the domains is on the list. */
  async matches(ip: string, domains: readonly (string | null | undefined)[] = []): Promise<boolean> {
    await this.refresh();
    if (inCidrs(ip, this.cidrs)) return true;
    return domains.some((d) => d && this.domains.has(d.toLowerCase()));
  }
}

export const allowlistKey = (list: 'greylist' | 'dnsbl') => `postamt:policy:${list}:allow`;
