// Field types shared by every service's config schema. Each one accepts the
// string form an operator writes in an environment variable (and the native YAML
// form) and says in its error what it expected, because that text is shown to
// the operator as is.
import { z } from 'zod';

/** `host:port`, `[v6]:port`. */
export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

export function parseHostPort(value: string): HostPort | null {
  const m = HOST_PORT.exec(value.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}

export const hostPort = z.string().transform((value, ctx) => {
  const parsed = parseHostPort(value);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port, e.g. 127.0.0.1:3310' });
    return z.NEVER;
  }
  return parsed;
});

export const hostPortList = z.union([z.string(), z.array(z.string())]).transform((value, ctx) => {
  const items = (Array.isArray(value) ? value : value.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const out: HostPort[] = [];
  for (const item of items) {
    const parsed = parseHostPort(item) ?? parseHostPort(`${item}:53`);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of host:port' });
      return z.NEVER;
    }
    out.push(parsed);
  }
  return out;
});

export const port = z.coerce
  .number({ message: 'expected a TCP port number' })
  .int('expected a TCP port number')
  .min(0, 'expected a TCP port number (0-65535)')
  .max(65535, 'expected a TCP port number (0-65535)');

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `300s`, `5m`, `35d`, `250ms`; a bare number means seconds. Returns milliseconds. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : null;
  const m = DURATION.exec(value.trim());
  if (!m) return null;
  const unit = (m[2] ?? 's') as keyof typeof DURATION_UNIT_MS;
  return Math.round(Number(m[1]) * DURATION_UNIT_MS[unit]);
}

/** A duration in milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like 300s, 5m, 2h or 35d' });
    return z.NEVER;
  }
  return ms;
});

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|K|M|G|T|KiB|MiB|GiB|TiB)?$/i;
const SIZE_UNIT: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses `25MB`, `2GB`, `512K`, or a plain byte count. Units are binary, as in Postfix and Dovecot. */
export function parseByteSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const m = SIZE.exec(value.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * (SIZE_UNIT[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

/** A size in bytes. */
export const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a size like 25MB, 2GB or a number of bytes' });
    return z.NEVER;
  }
  return bytes;
});

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** True for a syntactically valid DNS host name (labels of letters, digits and hyphens). */
export function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name
    .replace(/\.$/, '')
    .split('.')
    .every((label) => LABEL.test(label));
}

export const hostname = z.string().refine(isHostname, 'expected a host name such as mail.example.org');

export const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** One next hop of POSTAMT_RELAY_TRANSPORTS: `[host]:port` (no MX lookup) or `host:port` (MX lookup). */
export interface Transport {
  host: string;
  port: number;
  /** `[host]` means: connect to this host directly, do not look up MX records (as in Postfix). */
  literal: boolean;
}

const TRANSPORT = /^(?:\[([^\]]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/;

export function parseTransport(value: string): Transport | null {
  const m = TRANSPORT.exec(value.trim());
  if (!m) return null;
  const p = m[3] ? Number(m[3]) : 25;
  if (p < 1 || p > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port: p, literal: m[1] !== undefined };
}

/** `example.net=[10.0.0.5]:25,*=[smarthost.example]:587` → domain (or `*`) → next hop. */
export const transportMap = z
  .union([z.string(), z.record(z.string(), z.string())])
  .transform((value, ctx) => {
    const entries =
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .map((s) => {
              const i = s.indexOf('=');
              return i < 0 ? [s, ''] : [s.slice(0, i).trim(), s.slice(i + 1).trim()];
            })
        : Object.entries(value);
    const out: Record<string, Transport> = {};
    for (const [domain, hop] of entries) {
      const parsed = hop ? parseTransport(hop) : null;
      if (!domain || !parsed || (domain !== '*' && !isHostname(domain))) {
        ctx.addIssue({
          code: 'custom',
          message:
            'expected domain=[host]:port pairs, e.g. example.net=[10.0.0.5]:25,*=[smarthost.example]:587',
        });
        return z.NEVER;
      }
      out[domain.toLowerCase()] = parsed;
    }
    return out;
  });

/**
 * When a password may cross a connection without TLS (RFC 2595 §2.4, RFC 3501
 * §6.2.3 LOGINDISABLED): `never`, `loopback` (also from loopback clients), or
 * `always` (behind a TLS-terminating proxy). true/false/yes/no/on/off/1/0 are
 * read as always/never. Used by POSTAMT_POP3_ALLOW_PLAINTEXT and POSTAMT_IMAP_ALLOW_PLAINTEXT.
 */
export const plaintextPolicy = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.enum(['never', 'loopback', 'always', 'true', 'false', 'yes', 'no', 'on', 'off', '1', '0']))
  .transform((v): 'never' | 'loopback' | 'always' => {
    if (v === 'never' || v === 'loopback' || v === 'always') return v;
    return ['true', 'yes', 'on', '1'].includes(v) ? 'always' : 'never';
  });

export type PlaintextPolicy = z.output<typeof plaintextPolicy>;
