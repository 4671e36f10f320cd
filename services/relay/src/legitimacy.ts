// Is the receiving server's address one we should hand mail to? Forward-confirmed
// reverse DNS (RFC 8601 §3 iprev) and DNS blocklists, the same checks intake runs
// on its clients, applied to the other side. Each check has a policy: `defer`
// skips the address (the destination is retried later if none is left), `warn`
// only records the result, `off` skips the check. What was verified is returned
// as text for the log and the DSN.
import { checkDnsbl, checkFcrdns, type DnsblSite, type DnsResolver } from '@postamt/smtp-policy';
import type { CheckPolicy } from './config.js';

export interface LegitimacyOptions {
  fcrdns: CheckPolicy;
  dnsbl: CheckPolicy;
  dnsblSites: readonly DnsblSite[];
}

export interface Legitimacy {
  /** False when a check with policy `defer` failed. */
  ok: boolean;
  /** `fcrdns=pass(mx.example.net) dnsbl=pass(score 0 [])`, for logs and DSNs. */
  summary: string;
}

export async function checkReceivingServer(
  ip: string,
  o: LegitimacyOptions,
  dns: DnsResolver,
): Promise<Legitimacy> {
  const parts: string[] = [];
  let ok = true;
  if (o.fcrdns !== 'off') {
    const v = await checkFcrdns(ip, dns);
    parts.push(`fcrdns=${v.result}${v.ptr ? `(${v.ptr})` : ''}`);
    if (v.result !== 'pass' && o.fcrdns === 'defer') ok = false;
  }
  if (o.dnsbl !== 'off' && o.dnsblSites.length > 0) {
    const v = await checkDnsbl(ip, { sites: o.dnsblSites, threshold: 1, allowThreshold: -1 }, dns);
    parts.push(`dnsbl=${v.result}(${v.detail ?? ''})`);
    if (v.result !== 'pass' && o.dnsbl === 'defer') ok = false;
  }
  return { ok, summary: parts.join(' ') || 'no checks' };
}
