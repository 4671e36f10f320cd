// DKIM signing keys per domain (RFC 6376), generated here with node:crypto and
// kept in Redis for the relay to sign with:
//
//   postamt:dkim:<domain>   hash: current, previous   (JSON of DkimKey each)
//
// Rotation makes a new key current and keeps the old one as `previous`, so its
// DNS record can stay published until mail signed with it has been delivered.
// The private key never leaves this module through the API.
import { generateKeyPairSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const DKIM_ALGORITHMS = ['rsa-2048', 'ed25519'] as const;
export type DkimAlgorithm = (typeof DKIM_ALGORITHMS)[number];

export const selectorSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i,
    'expected a DNS label such as s2025 (letters, digits, -)',
  );

export interface DkimKey {
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The p= value of the DNS record. */
  publicKey: string;
  createdAt: string;
}

export interface DkimPublic {
  selector: string;
  algorithm: DkimAlgorithm;
  createdAt: string;
  dnsName: string;
  /** The TXT record's text. */
  dnsRecord: string;
  /** The same as zone-file strings of at most 255 octets (RFC 1035 §3.3.14). */
  zoneLine: string;
}

export function generateDkimKey(algorithm: DkimAlgorithm, selector: string, now = new Date()): DkimKey {
  let privateKey: string;
  let publicKey: string;
  if (algorithm === 'rsa-2048') {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // RFC 6376 §3.6.1: p= is the base64 of the SubjectPublicKeyInfo DER.
    publicKey = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  } else {
    const pair = generateKeyPairSync('ed25519');
    privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // RFC 8463 §4.2: p= is the raw 32-byte key, not the SPKI wrapping.
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    publicKey = spki.subarray(spki.length - 32).toString('base64');
  }
  return { selector, algorithm, privateKey, publicKey, createdAt: now.toISOString() };
}

export function dnsRecord(key: Pick<DkimKey, 'algorithm' | 'publicKey'>): string {
  return `v=DKIM1; k=${key.algorithm === 'ed25519' ? 'ed25519' : 'rsa'}; p=${key.publicKey}`;
}

export function toPublic(domain: string, key: DkimKey): DkimPublic {
  const text = dnsRecord(key);
  const name = `${key.selector}._domainkey.${domain}`;
  const chunks = text.match(/.{1,255}/g) ?? [text];
  return {
    selector: key.selector,
    algorithm: key.algorithm,
    createdAt: key.createdAt,
    dnsName: name,
    dnsRecord: text,
    zoneLine: `${name}. IN TXT ( ${chunks.map((c) => `"${c}"`).join(' ')} )`,
  };
}

/** A default selector: algorithm and date, e.g. rsa20250314. */
export function defaultSelector(algorithm: DkimAlgorithm, now = new Date()): string {
  const d = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${algorithm === 'ed25519' ? 'ed' : 'rsa'}${d}`;
}

const KEY = (domain: string) => `postamt:dkim:${domain}`;

export class DkimStore {
  constructor(private readonly redis: Redis) {}

  async get(domain: string): Promise<{ current: DkimKey | null; previous: DkimKey | null }> {
    const h = await this.redis.hgetall(KEY(domain));
    return {
      current: h.current ? (JSON.parse(h.current) as DkimKey) : null,
      previous: h.previous ? (JSON.parse(h.previous) as DkimKey) : null,
    };
  }

  /** Makes `key` current; the old current becomes previous. */
  async install(domain: string, key: DkimKey): Promise<void> {
    const { current } = await this.get(domain);
    const m = this.redis.multi().hset(KEY(domain), 'current', JSON.stringify(key));
    if (current) m.hset(KEY(domain), 'previous', JSON.stringify(current));
    await m.exec();
  }

  async removePrevious(domain: string): Promise<boolean> {
    return (await this.redis.hdel(KEY(domain), 'previous')) === 1;
  }

  async remove(domain: string): Promise<boolean> {
    return (await this.redis.del(KEY(domain))) === 1;
  }
}
