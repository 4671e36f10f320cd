// MTA-STS (RFC 8461) through mailauth: the policy of a recipient domain is
// discovered in DNS (_mta-sts TXT, on our resolver), fetched over HTTPS from
// mta-sts.<domain> with a verified certificate, and cached for its max_age.
// Under `enforce` only MX hosts the policy names may be used, and only over
// TLS with a certificate valid for the MX name (RFC 8461 §4.2, §5). A failed
// fetch with nothing cached means "no policy" (RFC 8461 §5.1).
import type { DnsResolver, DnsResult } from '@postamt/smtp-policy';
import { getPolicy, validateMx } from 'mailauth/lib/mta-sts.js';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  mx: string[];
}

export interface StsCheck {
  mode: StsMode;
  /** False only under `enforce` for an MX host the policy does not list. */
  allowed: boolean;
}

type MailauthPolicy = Parameters<typeof validateMx>[1];

/** The resolver mailauth expects: records like dns.resolve(), errors carrying node:dns codes. */
function mailauthResolver(dns: DnsResolver) {
  return async (name: string, type: string): Promise<string[] | string[][]> => {
    const t = type.toUpperCase();
    if (t !== 'A' && t !== 'AAAA' && t !== 'TXT') {
      throw Object.assign(new Error(`unsupported type ${type}`), { code: 'ENOTIMP' });
    }
    const r = (await dns.lookup(name, t)) as DnsResult<string | string[]>;
    if (r.kind === 'ok') return r.records as string[] | string[][];
    throw Object.assign(new Error(`${t} ${name}: ${r.code}`), { code: r.code });
  };
}

export class MtaSts {
  private readonly cache = new Map<string, MailauthPolicy>();

  constructor(
    private readonly dns: DnsResolver,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The domain's policy, or null when it has none (or it cannot be had). */
  async policy(domain: string): Promise<(StsPolicy & { raw: MailauthPolicy }) | null> {
    const known = this.cache.get(domain) ?? null;
    try {
      const r = await getPolicy(domain, known, {
        resolver: mailauthResolver(this.dns),
        timeout: this.timeoutMs,
      });
      if (r.status === 'not_found') {
        this.cache.delete(domain);
        return null;
      }
      if (r.status === 'errored' && !known) return null;
      this.cache.set(domain, r.policy);
      return { mode: r.policy.mode, mx: r.policy.mx ?? [], raw: r.policy };
    } catch {
      return known ? { mode: known.mode, mx: known.mx ?? [], raw: known } : null;
    }
  }

  static check(mxName: string, policy: (StsPolicy & { raw: MailauthPolicy }) | null): StsCheck {
    if (!policy || policy.mode === 'none') return { mode: 'none', allowed: true };
    const v = validateMx(mxName, policy.raw);
    return { mode: policy.mode, allowed: v.valid || policy.mode !== 'enforce' };
  }
}
