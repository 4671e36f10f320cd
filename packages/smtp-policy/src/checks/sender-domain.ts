// The sender's domain must be able to receive replies (bounces): it has an MX,
// or an A/AAAA as the implicit MX (RFC 5321 §5.1). A null MX (RFC 7505 §3) says
// the domain sends no mail: X.7.27 (RFC 7505 §4.2).

import type { PolicyReply, Verdict } from '../decision.js';
import type { DnsResolver } from '../dns.js';
import { domainOf } from '../fqdn.js';

export const SenderDomainReplies = {
  notFound: { code: 550, status: '5.1.8', text: 'Sender address rejected: domain not found (sender_domain)' },
  nullMx: {
    code: 550,
    status: '5.7.27',
    text: 'Sender address rejected: domain accepts no mail (sender_domain)',
  },
} as const satisfies Record<string, PolicyReply>;

export async function checkSenderDomain(mailFrom: string, dns: DnsResolver): Promise<Verdict> {
  const domain = domainOf(mailFrom);
  if (mailFrom === '' || domain === null) return { result: 'pass', detail: 'null sender' };
  const [mx, a, aaaa] = await Promise.all([
    dns.lookup(domain, 'MX'),
    dns.lookup(domain, 'A'),
    dns.lookup(domain, 'AAAA'),
  ]);
  if (mx.kind === 'ok') {
    const isNull = mx.records.length === 1 && ['', '.'].includes(mx.records[0]?.exchange ?? 'x');
    if (isNull)
      return { result: 'fail', reply: SenderDomainReplies.nullMx, detail: `${domain} has a null MX` };
    return { result: 'pass' };
  }
  if (a.kind === 'ok' || aaaa.kind === 'ok') return { result: 'pass', detail: 'implicit MX' };
  const temp = [mx, a, aaaa].find((r) => r.kind === 'tempfail');
  if (temp) return { result: 'tempfail', detail: `sender domain ${domain}: ${temp.code}` };
  return { result: 'fail', reply: SenderDomainReplies.notFound, detail: `${domain} has no MX, A or AAAA` };
}
