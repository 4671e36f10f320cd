// Forward-confirmed reverse DNS of the client (RFC 8601 §3 "iprev"): a PTR name
// of the client IP must resolve back to that IP. Reply codes from RFC 7372 §3.3
// (X.7.25 reverse DNS validation failed).
import { isIP } from 'node:net';
import type { PolicyReply, Verdict } from '../decision.js';
import type { DnsResolver } from '../dns.js';
import { normalizeIp, ptrName } from '../ip.js';

export const FcrdnsReplies = {
  noPtr: { code: 550, status: '5.7.25', text: 'Client host rejected: cannot find your hostname (fcrdns)' },
  mismatch: {
    code: 550,
    status: '5.7.25',
    text: 'Client host rejected: reverse DNS does not match (fcrdns)',
  },
} as const satisfies Record<string, PolicyReply>;

/** Names of a PTR RRset tried at most (a client could publish hundreds). */
const MAX_PTR_NAMES = 10;

export type FcrdnsVerdict = Verdict & { ptr?: string };

export async function checkFcrdns(clientIp: string, dns: DnsResolver): Promise<FcrdnsVerdict> {
  const ip = normalizeIp(clientIp);
  const ptr = await dns.lookup(ptrName(ip), 'PTR');
  if (ptr.kind === 'tempfail') return { result: 'tempfail', detail: `PTR ${ip}: ${ptr.code}` };
  if (ptr.kind === 'none') return { result: 'fail', reply: FcrdnsReplies.noPtr, detail: `no PTR for ${ip}` };
  const names = ptr.records.slice(0, MAX_PTR_NAMES).map((n) => n.replace(/\.$/, '').toLowerCase());
  const type = isIP(ip) === 6 ? 'AAAA' : 'A';
  const forward = await Promise.all(names.map((n) => dns.lookup(n, type)));
  for (const [i, f] of forward.entries()) {
    if (f.kind === 'ok' && f.records.some((a) => normalizeIp(a) === ip)) {
      return { result: 'pass', ptr: names[i], detail: `${ip} is ${names[i]}` };
    }
  }
  const temp = forward.find((f) => f.kind === 'tempfail');
  if (temp) return { result: 'tempfail', detail: `forward lookup of ${names.join(',')}: ${temp.code}` };
  return {
    result: 'fail',
    reply: FcrdnsReplies.mismatch,
    detail: `PTR ${names.join(',')} does not resolve to ${ip}`,
  };
}
