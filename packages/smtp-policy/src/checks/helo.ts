// HELO/EHLO syntax (RFC 5321 §4.1.1.1: the argument is the client's FQDN, or an
// address literal when it has none) and the "you are not me" rule: a client that
// claims our own name or one of our domains is lying.
import type { PolicyReply, Verdict } from '../decision.js';
import { isFqdn, parseAddressLiteral } from '../fqdn.js';
import { normalizeIp } from '../ip.js';

/** How an address literal in HELO is judged. */
export type HeloLiteralPolicy = 'allow' | 'match' | 'reject';

export const HeloReplies = {
  missing: { code: 503, status: '5.5.1', text: 'Helo command rejected: send HELO/EHLO first (helo)' },
  notFqdn: {
    code: 504,
    status: '5.5.2',
    text: 'Helo command rejected: need fully-qualified hostname (helo)',
  },
  literal: { code: 550, status: '5.7.1', text: 'Helo command rejected: address literal not accepted (helo)' },
  ours: { code: 550, status: '5.7.1', text: 'Helo command rejected: you are not me (helo)' },
} as const satisfies Record<string, PolicyReply>;

export interface HeloInput {
  helo: string | undefined;
  clientIp: string;
  literals: HeloLiteralPolicy;
  /** Our host name and addresses, lower-case. */
  ourNames: readonly string[];
  /** True for one of our mail domains (looked up in the directory). */
  isOurDomain: (name: string) => Promise<boolean>;
}

export async function checkHelo(i: HeloInput): Promise<Verdict> {
  const helo = i.helo?.trim();
  if (!helo) return { result: 'fail', reply: HeloReplies.missing, detail: 'no HELO/EHLO' };
  const literal = parseAddressLiteral(helo);
  if (literal !== null) {
    if (i.ourNames.includes(literal))
      return { result: 'fail', reply: HeloReplies.ours, detail: `HELO ${helo} is our address` };
    if (i.literals === 'allow') return { result: 'pass' };
    if (i.literals === 'match' && literal === normalizeIp(i.clientIp)) return { result: 'pass' };
    return { result: 'fail', reply: HeloReplies.literal, detail: `HELO literal ${helo} (${i.literals})` };
  }
  if (!isFqdn(helo))
    return { result: 'fail', reply: HeloReplies.notFqdn, detail: `HELO ${helo} is not an FQDN` };
  const name = helo.toLowerCase().replace(/\.$/, '');
  if (i.ourNames.includes(name) || (await i.isOurDomain(name))) {
    return { result: 'fail', reply: HeloReplies.ours, detail: `HELO ${helo} claims to be us` };
  }
  return { result: 'pass' };
}
