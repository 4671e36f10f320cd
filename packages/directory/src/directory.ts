// The account directory in Redis: domains, users and aliases. Every service
// that needs to know who exists asks it; nothing else reads these keys.
//
//   postamt:dir:domains          set of local domains (A-label, lowercase)
//   postamt:dir:user:<key>       hash: address, hash, quota, enabled
//   postamt:dir:alias:<key>      JSON list of target addresses
//   postamt:dir:members:<domain> set of user and alias keys of a domain
//   postamt:dir:catchall:<domain> JSON list of targets for unknown local parts
//
// Lookup order for a recipient (resolve): exact user, exact alias, then the
// plus-address base (`alice+tag@` → alice, tag kept as `detail` so delivery
// may file into a folder), then the domain's catch-all, else unknown.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { addressKey, normalizeDomain, splitAddress } from './address.js';
import { LoginCache } from './login-cache.js';
import { hashPassword, needsRehash, verifyPassword } from './passwords.js';

const P = 'postamt:dir:';

export interface User {
  /** The address as created (case preserved). */
  address: string;
  /** Lookup key: lowercased, A-label domain. */
  key: string;
  local: string;
  domain: string;
  passwordHash: string;
  /** Quota in bytes; 0 means none. */
  quota: number;
  enabled: boolean;
}

/** RFC 5233 subaddress separator. */
export const DETAIL_SEPARATOR = '+';

export type Resolution =
  /** `detail` is the part after '+' when the address was a plus-address of the user. */
  | { kind: 'user'; user: User; detail?: string }
  | { kind: 'alias'; targets: string[]; catchAll?: boolean }
  | { kind: 'unknown' }
  /** Not one of our domains. */
  | { kind: 'remote' };

export class DirectoryError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid' | 'exists' | 'not-found',
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export interface DirectoryOptions {
  /** How long a verified login is remembered in this process (0: never); see login-cache.ts. */
  loginCacheTtlMs?: number;
}

/** Dovecot's auth_cache_ttl is one hour; reconnecting clients rarely need longer than minutes. */
const DEFAULT_LOGIN_CACHE_TTL_MS = 10 * 60_000;

export class Directory {
  private readonly logins: LoginCache;

  constructor(
    private readonly redis: Redis,
    opts: DirectoryOptions = {},
  ) {
    this.logins = new LoginCache(opts.loginCacheTtlMs ?? DEFAULT_LOGIN_CACHE_TTL_MS);
  }

  async addDomain(domain: string): Promise<string> {
    const d = normalizeDomain(domain);
    if (!d) throw new DirectoryError('invalid domain', 'invalid');
    await this.redis.sadd(`${P}domains`, d);
    return d;
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    const d = normalizeDomain(domain);
    return d !== null && (await this.redis.sismember(`${P}domains`, d)) === 1;
  }

  async listDomains(): Promise<string[]> {
    return (await this.redis.smembers(`${P}domains`)).sort();
  }

  async isEmpty(): Promise<boolean> {
    return (await this.redis.scard(`${P}domains`)) === 0;
  }

  private parse(address: string): { key: string; local: string; domain: string } {
    const key = addressKey(address);
    const parts = splitAddress(address.trim());
    if (!key || !parts) throw new DirectoryError('invalid address', 'invalid');
    return { key, local: parts.local, domain: key.slice(key.lastIndexOf('@') + 1) };
  }

  /** Creates or updates a user. Either `password` (hashed here) or an existing `passwordHash`. */
  async putUser(input: {
    address: string;
    password?: string;
    passwordHash?: string;
    quota?: number;
    enabled?: boolean;
  }): Promise<User> {
    const { key, local, domain } = this.parse(input.address);
    if (!(await this.isLocalDomain(domain)))
      throw new DirectoryError(`domain ${domain} is not local`, 'not-found');
    const existing = await this.getUser(input.address);
    let passwordHash = input.passwordHash ?? existing?.passwordHash;
    if (input.password !== undefined) passwordHash = await hashPassword(input.password);
    if (!passwordHash) throw new DirectoryError('a password or password hash is required', 'invalid');
    const user: User = {
      address: input.address.trim(),
      key,
      local,
      domain,
      passwordHash,
      quota: input.quota ?? existing?.quota ?? 0,
      enabled: input.enabled ?? existing?.enabled ?? true,
    };
    await this.redis
      .multi()
      .hset(`${P}user:${key}`, {
        address: user.address,
        hash: user.passwordHash,
        quota: String(user.quota),
        enabled: user.enabled ? '1' : '0',
      })
      .sadd(`${P}members:${domain}`, key)
      .exec();
    return user;
  }

  async getUser(address: string): Promise<User | null> {
    const key = addressKey(address);
    if (!key) return null;
    return userOf(key, await this.redis.hgetall(`${P}user:${key}`));
  }

  async putAlias(address: string, targets: string[]): Promise<void> {
    const { key, domain } = this.parse(address);
    if (!(await this.isLocalDomain(domain)))
      throw new DirectoryError(`domain ${domain} is not local`, 'not-found');
    if (targets.length === 0 || targets.some((t) => !addressKey(t)))
      throw new DirectoryError('invalid alias target', 'invalid');
    await this.redis
      .multi()
      .set(`${P}alias:${key}`, JSON.stringify(targets))
      .sadd(`${P}members:${domain}`, key)
      .exec();
  }

  /**
   * What a recipient address is: a local user, an alias, unknown at a local domain, or remote.
   * Every key the answer may depend on is read in one round trip (this is on the RCPT path
   * of every message); the order of precedence is applied afterwards.
   */
  async resolve(address: string): Promise<Resolution> {
    const key = addressKey(address);
    if (!key) return { kind: 'unknown' };
    const at = key.lastIndexOf('@');
    const domain = key.slice(at + 1);
    const local = key.slice(0, at);
    const plus = local.indexOf(DETAIL_SEPARATOR);
    const baseKey = plus > 0 ? `${local.slice(0, plus)}@${domain}` : null;
    const keys = [`${P}user:${key}`, `${P}alias:${key}`];
    if (baseKey) keys.push(`${P}user:${baseKey}`, `${P}alias:${baseKey}`);
    const replies = await this.lookup(domain, keys);
    const value = (i: number): unknown => replies[i];
    if (value(0) !== 1) return { kind: 'remote' };
    const exact = exactOf(key, value(2), value(3));
    if (exact) return exact;
    if (baseKey) {
      const base = exactOf(baseKey, value(4), value(5));
      // The detail keeps the case the sender wrote: it may name a folder.
      const original = splitAddress(address.trim())?.local ?? local;
      const detail = original.slice(original.indexOf(DETAIL_SEPARATOR) + 1);
      if (base?.kind === 'user') return detail ? { ...base, detail } : base;
      if (base) return base;
    }
    const catchAll = value(1) as string | null;
    if (catchAll) return { kind: 'alias', targets: JSON.parse(catchAll) as string[], catchAll: true };
    return { kind: 'unknown' };
  }

  /**
   * [is `domain` local, catch-all of `domain`, then per (user, alias) key pair: the user
   * hash and the alias] in one round trip. On a connection that auto-pipelines (the
   * intake's) the commands join whatever else this turn of the event loop sends, so the
   * lookups of many sessions share one write; elsewhere they go as one pipeline.
   */
  private async lookup(domain: string, pairs: string[]): Promise<unknown[]> {
    const r = this.redis;
    if (r.options.enableAutoPipelining) {
      const calls: Promise<unknown>[] = [r.sismember(`${P}domains`, domain), r.get(`${P}catchall:${domain}`)];
      for (let i = 0; i < pairs.length; i += 2)
        calls.push(r.hgetall(pairs[i] as string), r.get(pairs[i + 1] as string));
      return Promise.all(calls);
    }
    const p = r.pipeline().sismember(`${P}domains`, domain).get(`${P}catchall:${domain}`);
    for (let i = 0; i < pairs.length; i += 2) p.hgetall(pairs[i] as string).get(pairs[i + 1] as string);
    const replies = await p.exec();
    if (!replies || replies.length < 2 + pairs.length) throw new Error('no reply from redis');
    return replies.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
  }

  /** Sets (or with null removes) the catch-all targets of a local domain. */
  async setCatchAll(domain: string, targets: string[] | null): Promise<void> {
    const d = normalizeDomain(domain);
    if (!d || !(await this.isLocalDomain(d))) throw new DirectoryError('domain is not local', 'not-found');
    if (targets === null) {
      await this.redis.del(`${P}catchall:${d}`);
      return;
    }
    if (targets.length === 0 || targets.some((t) => !addressKey(t)))
      throw new DirectoryError('invalid catch-all target', 'invalid');
    await this.redis.set(`${P}catchall:${d}`, JSON.stringify(targets));
  }

  async getCatchAll(domain: string): Promise<string[] | null> {
    const d = normalizeDomain(domain);
    const v = d ? await this.redis.get(`${P}catchall:${d}`) : null;
    return v ? (JSON.parse(v) as string[]) : null;
  }

  /** Removes a user; true if it existed. Their mail stays on the volume (the admin decides). */
  async removeUser(address: string): Promise<boolean> {
    const { key, domain } = this.parse(address);
    const n = await this.redis.del(`${P}user:${key}`);
    if (!(await this.redis.exists(`${P}alias:${key}`))) await this.redis.srem(`${P}members:${domain}`, key);
    return n === 1;
  }

  async removeAlias(address: string): Promise<boolean> {
    const { key, domain } = this.parse(address);
    const n = await this.redis.del(`${P}alias:${key}`);
    if (!(await this.redis.exists(`${P}user:${key}`))) await this.redis.srem(`${P}members:${domain}`, key);
    return n === 1;
  }

  /** Removes a domain with all its users, aliases and catch-all; true if it existed. */
  async removeDomain(domain: string): Promise<boolean> {
    const d = normalizeDomain(domain);
    if (!d) throw new DirectoryError('invalid domain', 'invalid');
    const members = await this.redis.smembers(`${P}members:${d}`);
    const m = this.redis.multi();
    for (const key of members) m.del(`${P}user:${key}`, `${P}alias:${key}`);
    m.del(`${P}members:${d}`, `${P}catchall:${d}`).srem(`${P}domains`, d);
    const res = (await m.exec()) ?? [];
    return (res[res.length - 1]?.[1] as number) === 1;
  }

  /** Users and aliases of a domain (lookup keys), sorted. */
  async listMembers(domain: string): Promise<string[]> {
    const d = normalizeDomain(domain);
    return d ? (await this.redis.smembers(`${P}members:${d}`)).sort() : [];
  }

  /**
   * Expands aliases (recursively, loops cut) into final recipients: local users
   * and remote addresses. Unknown local targets are dropped.
   */
  async expand(
    address: string,
    depth = 0,
    seen = new Set<string>(),
  ): Promise<{ local: User[]; remote: string[]; deliveries: { user: User; detail?: string }[] }> {
    const out = {
      local: [] as User[],
      remote: [] as string[],
      /** Like `local`, with the plus-address detail of each (for filing into a folder). */
      deliveries: [] as { user: User; detail?: string }[],
    };
    const key = addressKey(address);
    if (!key || seen.has(key) || depth > 10) return out;
    seen.add(key);
    const r = await this.resolve(address);
    if (r.kind === 'user') {
      out.local.push(r.user);
      out.deliveries.push(r.detail ? { user: r.user, detail: r.detail } : { user: r.user });
    } else if (r.kind === 'remote') out.remote.push(address);
    else if (r.kind === 'alias') {
      for (const t of r.targets) {
        const sub = await this.expand(t, depth + 1, seen);
        out.local.push(...sub.local);
        out.remote.push(...sub.remote);
        out.deliveries.push(...sub.deliveries);
      }
    }
    return out;
  }

  /** Checks a login. Rehashes imported hashes to argon2id on success. */
  async authenticate(address: string, password: string): Promise<User | null> {
    const user = await this.getUser(address);
    if (!user?.enabled) {
      // Same work for unknown users, so timing does not reveal who exists.
      await verifyPassword(await dummyHash(), password);
      return null;
    }
    if (this.logins.has(user.key, user.passwordHash, password)) return user;
    if (!(await verifyPassword(user.passwordHash, password))) return null;
    if (needsRehash(user.passwordHash)) await this.putUser({ address: user.address, password });
    else this.logins.remember(user.key, user.passwordHash, password);
    return user;
  }
}

function userOf(key: string, h: Record<string, string>): User | null {
  if (!h.address || !h.hash) return null;
  const parts = splitAddress(h.address) as { local: string; domain: string };
  return {
    address: h.address,
    key,
    local: parts.local,
    domain: key.slice(key.lastIndexOf('@') + 1),
    passwordHash: h.hash,
    quota: Number(h.quota ?? 0),
    enabled: h.enabled !== '0',
  };
}

/** A user or alias from its two keys' values; null when neither exists (a disabled user counts as neither). */
function exactOf(key: string, hash: unknown, alias: unknown): Resolution | null {
  const user = userOf(key, (hash ?? {}) as Record<string, string>);
  if (user?.enabled) return { kind: 'user', user };
  if (typeof alias === 'string' && alias) return { kind: 'alias', targets: JSON.parse(alias) as string[] };
  return null;
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomUUID());
  return dummy;
}
