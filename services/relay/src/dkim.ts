// Outbound DKIM signing (RFC 6376; ed25519-sha256 RFC 8463) just before a
// message leaves: the signing domain is the From header's domain (so DMARC
// alignment holds), the key the one the admin service keeps in Redis
//
//   postamt:dkim:<domain>   hash: current, previous   (JSON: selector, algorithm, privateKey, ...)
//
// and the signature covers mailauth's usual header list with relaxed/relaxed
// canonicalization. Only our own mail is signed (submitted, or DSNs we made):
// an inbound message forwarded by an alias keeps its author's signature and is
// never signed with ours. Keys are cached briefly, absent ones too. A signing
// error (bad key, Redis down) throws: the attempt is retried later, mail meant
// to be signed never leaves unsigned.
import { Readable } from 'node:stream';
import type { Logger } from '@postamt/observability';
import { type Envelope, type Redis, readHeaderBlock } from '@postamt/queue';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { z } from 'zod';

const keySchema = z.object({
  selector: z.string().min(1),
  algorithm: z.enum(['rsa-2048', 'ed25519']),
  privateKey: z.string().min(1),
});

export type DkimKey = z.output<typeof keySchema>;

/** Where the signing keys come from (the admin service's Redis hash). */
export interface DkimKeySource {
  currentKey(domain: string): Promise<DkimKey | null>;
}

export class RedisDkimKeys implements DkimKeySource {
  private readonly cache = new Map<string, { key: DkimKey | null; until: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async currentKey(domain: string): Promise<DkimKey | null> {
    const hit = this.cache.get(domain);
    if (hit && hit.until > this.now()) return hit.key;
    const raw = await this.redis.hget(`postamt:dkim:${domain}`, 'current');
    const key = raw ? keySchema.parse(JSON.parse(raw)) : null;
    if (this.ttlMs > 0) this.cache.set(domain, { key, until: this.now() + this.ttlMs });
    return key;
  }
}

/** Unfolded value of the first header field `name` (RFC 5322 §2.2.3), or null. */
export function headerValue(head: string, name: string): string | null {
  const unfolded = head.replace(/\r?\n[ \t]/g, ' ');
  const re = new RegExp(`^${name}[ \\t]*:(.*)$`, 'im');
  return re.exec(unfolded)?.[1]?.trim() ?? null;
}

/**
 * The domain of the (first) author address in a From value: the last
 * `<addr>` or else a bare addr-spec, comments and quoted display names aside.
 */
export function addressDomain(value: string): string | null {
  const text = value.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\([^()]*\)/g, ' ');
  const angle = /<([^<>]*)>/.exec(text)?.[1];
  const addr = angle ?? /[^\s,;:<>]+@[^\s,;:<>]+/.exec(text)?.[0];
  if (!addr) return null;
  const at = addr.lastIndexOf('@');
  const domain = addr
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/\.$/, '');
  return at > 0 && /^[a-z0-9.-]+$/.test(domain) ? domain : null;
}

const ALGORITHM = { 'rsa-2048': 'rsa-sha256', ed25519: 'ed25519-sha256' } as const;

export interface Signed {
  /** The DKIM-Signature field(s), each ending with CRLF, to put in front of the message. */
  header: Buffer;
  domain: string;
  selector: string;
}

export class DkimSigner {
  constructor(
    private readonly keys: DkimKeySource,
    private readonly log: Logger,
  ) {}

  /** The signature for a spooled message, or null when it is not ours to sign or its domain has no key. */
  async sign(msg: { id: string; envelope: Envelope; stream: () => Readable }): Promise<Signed | null> {
    if (msg.envelope.source !== 'submission' && msg.envelope.source !== 'internal') return null;
    const head = (await readHeaderBlock(msg.stream())).toString('latin1');
    const from = headerValue(head, 'From');
    const domain = from ? addressDomain(from) : null;
    if (!domain) return null;
    const key = await this.keys.currentKey(domain);
    if (!key) return null;
    const signature = {
      signingDomain: domain,
      selector: key.selector,
      privateKey: key.privateKey,
      algorithm: ALGORITHM[key.algorithm],
      canonicalization: 'relaxed/relaxed',
    };
    // mailauth signs what `signatureData` lists; the header list is its default
    // (From, Sender, Reply-To, Subject, Date, Message-ID, To, Cc, MIME and list fields).
    const result = await dkimSign(msg.stream(), { ...signature, signatureData: [signature] });
    if (result.errors.length > 0 || !result.signatures) {
      throw new Error(
        `DKIM signing for ${domain} failed: ${result.errors.map((e) => JSON.stringify(e)).join('; ') || 'no signature'}`,
      );
    }
    this.log.debug({ queueId: msg.id, domain, selector: key.selector }, 'DKIM signed');
    return { header: Buffer.from(result.signatures, 'latin1'), domain, selector: key.selector };
  }
}

/** The message with the signature in front, as a fresh stream each time. */
export function withSignature(header: Buffer, body: () => Readable): () => Readable {
  return () =>
    Readable.from(
      (async function* () {
        yield header;
        yield* body();
      })(),
    );
}
