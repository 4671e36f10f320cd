// MTA-STS (RFC 8461). A recipient domain's policy is discovered in DNS
// (`_mta-sts.<domain>` TXT, §3.1) and fetched over HTTPS from
// mta-sts.<domain>/.well-known/mta-sts.txt (§3.3) with a certificate valid for
// that name under our CAs, no redirects, at most 64 KB. The fetch connects to
// an address we resolved and the SSRF guard allowed, exactly like an SMTP
// connection. A policy is cached until its max_age; while it is cached and the
// TXT id is unchanged it is not fetched again, and a failed discovery or fetch
// keeps using it (§5.1). With nothing cached, a failure means "no policy".
// Under `enforce` only MX hosts matching an `mx:` pattern may be used, and only
// over TLS with a certificate valid for the MX name (§4.1, §4.2, §5); under
// `testing` failures are only reported.
import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { type Cidr, type DnsResolver, isFqdn } from '@postamt/smtp-policy';
import { checkAddress } from './ip-safety.js';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  id: string;
  mode: StsMode;
  mx: string[];
  maxAge: number;
}

export interface StsLookup {
  policy: StsPolicy | null;
  /** How the policy was had, for the log: `fetched`, `cached`, `none`, `error: ...`. */
  source: string;
}

export interface MtaStsOptions {
  dns: DnsResolver;
  allowNetworks: readonly Cidr[];
  /** CAs the policy host's certificate must chain to (default: Node's roots). */
  ca?: string[];
  /** 443; tests serve policies elsewhere. */
  port: number;
  timeoutMs: number;
  now?: () => number;
}

const MAX_POLICY = 64 * 1024;
/** RFC 8461 §3.2: max_age is at most 31557600 seconds. */
const MAX_AGE_LIMIT = 31_557_600;

/** RFC 8461 §3.1: `v=STSv1; id=<1-32 alphanumerics>`. Null for anything else. */
export function parseStsTxt(txt: string): string | null {
  if (!/^v=STSv1[ \t]*;/.test(txt)) return null;
  for (const field of txt.split(';').slice(1)) {
    const m = /^[ \t]*id=([A-Za-z0-9]{1,32})[ \t]*$/.exec(field);
    if (m) return m[1] as string;
  }
  return null;
}

/** RFC 8461 §3.2 policy file; null when invalid. */
export function parsePolicy(text: string, id: string): StsPolicy | null {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'mx') mx.push(value.toLowerCase());
    else if (!fields.has(key)) fields.set(key, value);
  }
  const mode = fields.get('mode');
  const maxAge = Number(fields.get('max_age'));
  if (fields.get('version') !== 'STSv1') return null;
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return null;
  if (!/^\d{1,10}$/.test(fields.get('max_age') ?? '')) return null;
  if (mode !== 'none' && mx.length === 0) return null;
  return { id, mode, mx, maxAge: Math.min(maxAge, MAX_AGE_LIMIT) };
}

/** RFC 8461 §4.1: an exact name, or `*.` matching exactly one left-most label. */
export function mxMatches(mx: string, patterns: string[]): boolean {
  const name = mx.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pat = p.replace(/\.$/, '');
    if (!pat.startsWith('*.')) return pat === name;
    const suffix = pat.slice(1);
    const head = name.slice(0, name.length - suffix.length);
    return name.endsWith(suffix) && head.length > 0 && !head.includes('.');
  });
}

export class MtaSts {
  private readonly cache = new Map<string, { policy: StsPolicy; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly o: MtaStsOptions) {
    this.now = o.now ?? Date.now;
  }

  async policy(domain: string): Promise<StsLookup> {
    const hit = this.cache.get(domain);
    const cached = hit && hit.expires > this.now() ? hit.policy : null;
    if (hit && !cached) this.cache.delete(domain);
    const keep = (why: string): StsLookup =>
      cached ? { policy: cached, source: `cached (${why})` } : { policy: null, source: why };

    const txt = await this.o.dns.lookup(`_mta-sts.${domain}`, 'TXT');
    if (txt.kind === 'tempfail') return keep(`error: TXT lookup ${txt.code}`);
    const ids =
      txt.kind === 'ok'
        ? txt.records.map((r) => parseStsTxt((Array.isArray(r) ? r : [r]).join(''))).filter((x) => x !== null)
        : [];
    // §3.1: more than one STSv1 record, or none, is "no policy discovered".
    if (ids.length !== 1) return keep('none');
    const id = ids[0] as string;
    if (cached && cached.id === id) return { policy: cached, source: 'cached' };

    const fetched = await this.fetch(domain, id).catch((err: Error) => err);
    if (fetched instanceof Error) return keep(`error: ${fetched.message}`);
    if (fetched.maxAge > 0) {
      this.cache.set(domain, { policy: fetched, expires: this.now() + fetched.maxAge * 1000 });
    }
    return { policy: fetched, source: 'fetched' };
  }

  private async fetch(domain: string, id: string): Promise<StsPolicy> {
    const host = `mta-sts.${domain}`;
    if (!isFqdn(host)) throw new Error('not a valid policy host');
    const [a, aaaa] = await Promise.all([this.o.dns.lookup(host, 'A'), this.o.dns.lookup(host, 'AAAA')]);
    const ips = [...(a.kind === 'ok' ? a.records : []), ...(aaaa.kind === 'ok' ? aaaa.records : [])];
    if (ips.length === 0) throw new Error(`${host} has no address`);
    const refused: string[] = [];
    const ip = ips.find((x) => {
      const v = checkAddress(x, this.o.allowNetworks);
      if (!v.ok) refused.push(`${x}: ${v.reason}`);
      return v.ok && isIP(x) !== 0;
    });
    if (!ip) throw new Error(`policy host refused (${refused.join('; ')})`);
    const text = await this.get(ip, host);
    const policy = parsePolicy(text, id);
    if (!policy) throw new Error('invalid policy file');
    return policy;
  }

  private get(ip: string, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: ip,
          port: this.o.port,
          servername: host,
          headers: { host },
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          rejectUnauthorized: true,
          // The certificate is checked against the policy host's name, not the IP we dialled.
          checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
          ...(this.o.ca ? { ca: this.o.ca } : {}),
          agent: false,
          timeout: this.o.timeoutMs,
        },
        (res) => {
          // §3.3: redirects are not followed; only 200 is a policy.
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new Error(`HTTP ${res.statusCode}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY) {
              req.destroy(new Error('policy too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** §4.1, §4.2: may `mx` be used, and must its certificate be verified? */
  static check(mx: string, policy: StsPolicy | null): StsCheck {
    if (!policy || policy.mode === 'none') return { mode: 'none', matched: true, allowed: true };
    const matched = mxMatches(mx, policy.mx);
    return { mode: policy.mode, matched, allowed: matched || policy.mode !== 'enforce' };
  }
}

export interface StsCheck {
  mode: StsMode;
  matched: boolean;
  /** False only under `enforce` for an MX host the policy does not list. */
  allowed: boolean;
}
