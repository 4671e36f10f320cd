// The EHLO name must exist in DNS (as Postfix's reject_unknown_helo_hostname:
// an A, AAAA or MX record). Only FQDNs are looked up; syntax is helo.ts's job.

import type { PolicyReply, Verdict } from '../decision.js';
import type { DnsResolver } from '../dns.js';
import { anyRecord } from '../dns.js';
import { isFqdn } from '../fqdn.js';

export const HeloDnsReplies = {
  unknown: { code: 550, status: '5.7.1', text: 'Helo command rejected: host not found (helo_dns)' },
} as const satisfies Record<string, PolicyReply>;

export async function checkHeloDns(helo: string | undefined, dns: DnsResolver): Promise<Verdict> {
  if (!helo || !isFqdn(helo)) return { result: 'pass', detail: 'not an FQDN, left to the helo check' };
  const r = await anyRecord(dns, helo, ['A', 'AAAA', 'MX']);
  if (r.kind === 'found') return { result: 'pass' };
  if (r.kind === 'tempfail') return { result: 'tempfail', detail: `HELO ${helo} lookup: ${r.code}` };
  return { result: 'fail', reply: HeloDnsReplies.unknown, detail: `HELO ${helo} has no A, AAAA or MX` };
}
