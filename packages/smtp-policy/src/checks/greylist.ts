// Greylisting (RFC 6647): the first attempt of an unknown (client network,
// sender, recipient) triplet is deferred; a retry after the delay passes and the
// triplet is remembered, so later mail is not delayed. State lives in Redis,
// shared by every intake replica. The client network is its /24 or /64, because
// large senders retry from another address of the same pool (RFC 6647 §4.1).
import { createHash } from 'node:crypto';
import type { PolicyReply, Verdict } from '../decision.js';
import { domainOf } from '../fqdn.js';
import { type Cidr, clientNetwork, inCidrs } from '../ip.js';

export const GreylistReplies = {
  // RFC 6647 §2.1: a 4xx reply; X.7.1 as in the issue and common practice.
  greylisted: {
    code: 451,
    status: '4.7.1',
    text: 'Recipient address rejected: greylisted, try again later (greylist)',
  },
} as const satisfies Record<string, PolicyReply>;

/** The few Redis commands greylisting needs (an ioredis client fits). */
export interface GreylistStore {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<unknown>;
  get(key: string): Promise<string | null>;
  pexpire(key: string, ms: number): Promise<unknown>;
}

export interface GreylistOptions {
  delayMs: number;
  /** How long a passed triplet is remembered (refreshed by each message). */
  rememberMs: number;
  /** How long an unconfirmed triplet waits for its retry. */
  pendingMs: number;
  allowClients: readonly Cidr[];
  /** Sender or recipient domains that are never greylisted. */
  allowDomains: readonly string[];
  keyPrefix?: string;
}

export interface Triplet {
  clientIp: string;
  sender: string;
  recipient: string;
}

function tripletKey(t: Triplet, prefix: string): string {
  const raw = `${clientNetwork(t.clientIp)}\0${t.sender.toLowerCase()}\0${t.recipient.toLowerCase()}`;
  return `${prefix}${createHash('sha256').update(raw).digest('base64url').slice(0, 32)}`;
}

export async function checkGreylist(
  t: Triplet,
  o: GreylistOptions,
  store: GreylistStore,
  now = Date.now(),
): Promise<Verdict> {
  if (inCidrs(t.clientIp, o.allowClients)) return { result: 'pass', detail: 'client allowlisted' };
  const domains = [domainOf(t.sender), domainOf(t.recipient)];
  if (domains.some((d) => d !== null && o.allowDomains.includes(d))) {
    return { result: 'pass', detail: 'domain allowlisted' };
  }
  const key = tripletKey(t, o.keyPrefix ?? 'greylist:');
  let first: number;
  try {
    const created = await store.set(key, String(now), 'PX', o.pendingMs, 'NX');
    if (created) return { result: 'fail', reply: GreylistReplies.greylisted, detail: 'new triplet' };
    first = Number(await store.get(key));
    if (!Number.isFinite(first)) first = now;
    if (now - first < o.delayMs) {
      return {
        result: 'fail',
        reply: GreylistReplies.greylisted,
        detail: `retry too early (${Math.round((now - first) / 1000)}s of ${o.delayMs / 1000}s)`,
      };
    }
    await store.pexpire(key, o.rememberMs);
  } catch (err) {
    return { result: 'tempfail', detail: `greylist store: ${(err as Error).message}` };
  }
  return { result: 'pass', detail: `known since ${new Date(first).toISOString()}` };
}
