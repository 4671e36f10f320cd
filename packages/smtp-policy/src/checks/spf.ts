// SPF (RFC 7208) of the MAIL FROM identity, or of the HELO identity for the null
// sender (RFC 7208 §2.4), evaluated by mailauth over our cached resolver. The
// result is always recorded (Authentication-Results, RFC 8601 §2.7.2); only a
// `fail` (-all) is a policy failure, and a `temperror` is a tempfail. X.7.23 is
// RFC 7372's "SPF validation failed".
import { spf } from 'mailauth/lib/spf/index.js';
import type { PolicyReply, Verdict } from '../decision.js';
import { type DnsResolver, nodeStyleResolver } from '../dns.js';

export const SpfReplies = {
  fail: { code: 550, status: '5.7.23', text: 'SPF validation failed (spf)' },
} as const satisfies Record<string, PolicyReply>;

export type SpfVerdict = Verdict & {
  /** The `spf=...` clause for Authentication-Results, without the authserv-id. */
  authResult?: string;
};

export interface SpfInput {
  clientIp: string;
  helo: string | undefined;
  mailFrom: string;
  hostname: string;
  /** RFC 7208 §4.6.4 suggests a limit of at least 20 seconds; ours is shorter to bound the session. */
  maxElapsedMs: number;
}

export async function checkSpf(i: SpfInput, dns: DnsResolver): Promise<SpfVerdict> {
  const sender = i.mailFrom || (i.helo ? `postmaster@${i.helo}` : '');
  if (!sender) return { result: 'pass', detail: 'no identity' };
  let r: Awaited<ReturnType<typeof spf>>;
  try {
    r = await spf({
      sender,
      ip: i.clientIp,
      helo: i.helo,
      mta: i.hostname,
      resolver: nodeStyleResolver(dns) as never,
      maxElapsedTime: i.maxElapsedMs,
    });
  } catch (err) {
    return { result: 'tempfail', detail: `spf evaluation: ${(err as Error).message}` };
  }
  const result = r.status.result;
  const authResult = r.info;
  const detail = `spf=${result} ${r.status.comment ?? ''}`.trim();
  if (result === 'fail') return { result: 'fail', reply: SpfReplies.fail, detail, authResult };
  if (result === 'temperror') return { result: 'tempfail', detail, authResult };
  return { result: 'pass', detail, authResult };
}
