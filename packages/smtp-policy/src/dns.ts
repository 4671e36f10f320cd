// The DNS resolver every check uses: node:dns on the configured servers
// (POSTAMT_DNS_SERVERS), answers cached by TTL, identical lookups in flight
// shared, every lookup bounded by a timeout. Checks see three outcomes: records,
// "none" (NXDOMAIN or no data — a definite answer), or "tempfail" (timeout,
// SERVFAIL, refused — never a reason to reject).
import { promises as dns } from 'node:dns';

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface RecordTypes {
  A: string;
  AAAA: string;
  PTR: string;
  MX: MxRecord;
  TXT: string[];
}

export type DnsType = keyof RecordTypes;

export type DnsResult<T> =
  | { kind: 'ok'; records: T[] }
  | { kind: 'none'; code: string }
  | { kind: 'tempfail'; code: string };

export interface DnsResolver {
  lookup<T extends DnsType>(name: string, type: T): Promise<DnsResult<RecordTypes[T]>>;
}

export interface ResolverOptions {
  /** `host:port` resolvers; empty means the system's. */
  servers: { host: string; port: number }[];
  /** Per query, after which the answer is a tempfail. */
  timeoutMs: number;
  /** Cap on a cached positive answer's lifetime. */
  maxTtlMs?: number;
  /** How long NXDOMAIN/NODATA is remembered (RFC 2308 negative caching, simplified). */
  negativeTtlMs?: number;
  /** Cap on the number of cached names. */
  maxEntries?: number;
}

const NONE_CODES = new Set(['ENOTFOUND', 'ENODATA']);

interface Entry {
  expires: number;
  result: DnsResult<unknown>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createResolver(o: ResolverOptions): DnsResolver {
  // c-ares retries on its own; one try with our timeout keeps the deadline honest.
  const r = new dns.Resolver({ timeout: o.timeoutMs, tries: 1 });
  if (o.servers.length) {
    r.setServers(
      o.servers.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)),
    );
  }
  const maxTtl = o.maxTtlMs ?? 3_600_000;
  const negativeTtl = o.negativeTtlMs ?? 60_000;
  const maxEntries = o.maxEntries ?? 50_000;
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<DnsResult<unknown>>>();

  async function query(name: string, type: DnsType): Promise<{ records: unknown[]; ttlMs: number }> {
    switch (type) {
      case 'A':
      case 'AAAA': {
        const rs = await (type === 'A' ? r.resolve4(name, { ttl: true }) : r.resolve6(name, { ttl: true }));
        const ttl = Math.min(...rs.map((x) => x.ttl)) * 1000;
        return { records: rs.map((x) => x.address), ttlMs: ttl };
      }
      case 'MX':
        return { records: await r.resolveMx(name), ttlMs: maxTtl };
      case 'TXT':
        return { records: await r.resolveTxt(name), ttlMs: maxTtl };
      case 'PTR':
        return { records: await r.resolvePtr(name), ttlMs: maxTtl };
    }
  }

  async function fresh(name: string, type: DnsType, key: string): Promise<DnsResult<unknown>> {
    let result: DnsResult<unknown>;
    let ttlMs = 0;
    try {
      const a = await withTimeout(query(name, type), o.timeoutMs + 50);
      result = a.records.length ? { kind: 'ok', records: a.records } : { kind: 'none', code: 'ENODATA' };
      ttlMs = a.records.length ? Math.min(a.ttlMs, maxTtl) : negativeTtl;
    } catch (err) {
      const code = String((err as { code?: string }).code ?? 'EUNKNOWN');
      result = NONE_CODES.has(code) ? { kind: 'none', code } : { kind: 'tempfail', code };
      // A tempfail is never cached: the next client gets a fresh try.
      ttlMs = result.kind === 'none' ? negativeTtl : 0;
    }
    if (ttlMs > 0) {
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(key, { expires: Date.now() + ttlMs, result });
    }
    return result;
  }

  return {
    lookup<T extends DnsType>(name: string, type: T): Promise<DnsResult<RecordTypes[T]>> {
      const key = `${type} ${name.toLowerCase()}`;
      const hit = cache.get(key);
      if (hit && hit.expires > Date.now()) return Promise.resolve(hit.result as DnsResult<RecordTypes[T]>);
      let p = inFlight.get(key);
      if (!p) {
        p = fresh(name, type, key).finally(() => inFlight.delete(key));
        inFlight.set(key, p);
      }
      return p as Promise<DnsResult<RecordTypes[T]>>;
    },
  };
}

/**
 * The resolver function mailauth's SPF code expects: records like
 * `dns.resolve(name, type)`, errors carrying node:dns codes.
 */
export function nodeStyleResolver(resolver: DnsResolver) {
  return async (name: string, type: string): Promise<unknown[]> => {
    const t = type.toUpperCase();
    if (!['A', 'AAAA', 'MX', 'TXT', 'PTR'].includes(t)) {
      throw Object.assign(new Error(`unsupported type ${type}`), { code: 'ENOTIMP' });
    }
    const r = await resolver.lookup(name, t as DnsType);
    if (r.kind === 'ok') return r.records;
    throw Object.assign(new Error(`${t} ${name}: ${r.code}`), { code: r.code });
  };
}

/**
 * Looks up several record types at once: `found` when any has records,
 * `tempfail` when none has and at least one could not be answered, else `none`.
 */
export async function anyRecord(resolver: DnsResolver, name: string, types: DnsType[]) {
  const results = await Promise.all(types.map((t) => resolver.lookup(name, t)));
  if (results.some((r) => r.kind === 'ok')) return { kind: 'found' as const, results };
  const temp = results.find((r) => r.kind === 'tempfail');
  if (temp) return { kind: 'tempfail' as const, code: temp.code };
  return { kind: 'none' as const };
}
