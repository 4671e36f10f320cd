// Admin API tokens. A token is `pa_` + 32 random bytes (base64url); only its
// SHA-256 is stored, so a Redis dump does not hand out access. With 256 bits of
// entropy a fast hash is enough (no dictionary to guard against), and it keeps
// the per-request check cheap.
//
//   postamt:admin:token:<sha256 hex>  hash: id, name, scopes, createdAt
//   postamt:admin:tokens              hash: id → sha256 hex (for list and revoke)
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

const P = 'postamt:admin:';

/** Each scope includes the ones before it. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
export const scopeSchema = z.enum(SCOPES);

export function scopeAllows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

export interface TokenInfo {
  id: string;
  name: string;
  scope: Scope;
  createdAt: string;
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenStore {
  constructor(private readonly redis: Redis) {}

  /** Issues a new token; the plain token is returned once and never stored. */
  async create(name: string, scope: Scope): Promise<{ token: string; info: TokenInfo }> {
    const token = `pa_${randomBytes(32).toString('base64url')}`;
    const info = await this.store(token, {
      id: randomUUID(),
      name,
      scope,
      createdAt: new Date().toISOString(),
    });
    return { token, info };
  }

  /** Registers an operator-chosen token (the POSTAMT_ADMIN_TOKEN bootstrap); idempotent. */
  async ensure(token: string, name: string, scope: Scope): Promise<TokenInfo> {
    const existing = await this.verify(token);
    if (existing) return existing;
    return this.store(token, { id: randomUUID(), name, scope, createdAt: new Date().toISOString() });
  }

  private async store(token: string, info: TokenInfo): Promise<TokenInfo> {
    const h = digest(token);
    await this.redis
      .multi()
      .hset(`${P}token:${h}`, { ...info })
      .hset(`${P}tokens`, info.id, h)
      .exec();
    return info;
  }

  async verify(token: string): Promise<TokenInfo | null> {
    const h = digest(token);
    const v = await this.redis.hgetall(`${P}token:${h}`);
    if (!v.id || !v.scope) return null;
    // The key is the digest, so a hit already matched; compare anyway so a
    // future change of lookup cannot turn into a timing oracle.
    const stored = await this.redis.hget(`${P}tokens`, v.id);
    if (!stored || !timingSafeEqual(Buffer.from(stored), Buffer.from(h))) return null;
    const scope = scopeSchema.safeParse(v.scope);
    if (!scope.success) return null;
    return { id: v.id, name: v.name ?? '', scope: scope.data, createdAt: v.createdAt ?? '' };
  }

  async list(): Promise<TokenInfo[]> {
    const ids = await this.redis.hgetall(`${P}tokens`);
    const out: TokenInfo[] = [];
    for (const h of Object.values(ids)) {
      const v = await this.redis.hgetall(`${P}token:${h}`);
      const scope = scopeSchema.safeParse(v.scope);
      if (v.id && scope.success)
        out.push({ id: v.id, name: v.name ?? '', scope: scope.data, createdAt: v.createdAt ?? '' });
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(id: string): Promise<boolean> {
    const h = await this.redis.hget(`${P}tokens`, id);
    if (!h) return false;
    await this.redis.multi().del(`${P}token:${h}`).hdel(`${P}tokens`, id).exec();
    return true;
  }
}
