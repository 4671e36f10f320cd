// DNS blocklists and allowlists scored like Postfix postscreen: every configured
// zone is queried in parallel for the client IP (RFC 5782 §2.1), a matching
// answer adds the zone's weight, and the sum decides. Score ≥ threshold →
// listed (554, the list named, as RFC 5782 §2.1 suggests naming it); score ≤
// the allowlist threshold → allowlisted (later client checks are skipped).

import type { PolicyReply, Verdict } from '../decision.js';
import type { DnsResolver } from '../dns.js';
import { normalizeIp, reversedIp } from '../ip.js';
import { type DnsblSite, siteMatches } from './dnsbl-sites.js';

export const DnsblReplies = {
  listed: (zone: string): PolicyReply => ({
    code: 554,
    status: '5.7.1',
    text: `Service unavailable; client host blocked using ${zone} (dnsbl)`,
  }),
};

export interface DnsblOptions {
  sites: readonly DnsblSite[];
  threshold: number;
  allowThreshold: number;
}

export type DnsblVerdict = Verdict & { score: number; allowlisted: boolean };

export async function checkDnsbl(clientIp: string, o: DnsblOptions, dns: DnsResolver): Promise<DnsblVerdict> {
  if (o.sites.length === 0) return { result: 'pass', score: 0, allowlisted: false, detail: 'no lists' };
  const reversed = reversedIp(normalizeIp(clientIp));
  const answers = await Promise.all(o.sites.map((s) => dns.lookup(`${reversed}.${s.zone}`, 'A')));
  let score = 0;
  const hits: string[] = [];
  const failed: string[] = [];
  for (const [i, a] of answers.entries()) {
    const site = o.sites[i] as DnsblSite;
    if (a.kind === 'tempfail') failed.push(`${site.zone}:${a.code}`);
    if (a.kind === 'ok' && a.records.some((r) => siteMatches(site, r))) {
      score += site.weight;
      hits.push(`${site.zone}*${site.weight}`);
    }
  }
  const detail = `score ${score} [${hits.join(' ')}]${failed.length ? ` unanswered [${failed.join(' ')}]` : ''}`;
  if (score >= o.threshold) {
    // Name the heaviest blocklist that matched.
    const zone = hits.map((h) => h.split('*')).sort((a, b) => Number(b[1]) - Number(a[1]))[0]?.[0] ?? '';
    return { result: 'fail', reply: DnsblReplies.listed(zone), score, allowlisted: false, detail };
  }
  if (score <= o.allowThreshold && hits.length) return { result: 'pass', score, allowlisted: true, detail };
  // An unanswered list could have tipped the score: undecided, so a tempfail.
  const unknown = o.sites.reduce(
    (sum, s, i) => sum + (s.weight > 0 && answers[i]?.kind === 'tempfail' ? s.weight : 0),
    0,
  );
  if (unknown > 0 && score + unknown >= o.threshold)
    return { result: 'tempfail', score, allowlisted: false, detail };
  return { result: 'pass', score, allowlisted: false, detail };
}
