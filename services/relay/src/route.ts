// Where mail for a domain goes: a transport override from POSTAMT_RELAY_TRANSPORTS,
// or the domain's MX hosts (RFC 5321 §5.1): lowest preference first, random
// order among equal ones, the domain's own A/AAAA only when it has no MX at all,
// and a null MX (RFC 7505) meaning the domain accepts no mail. Every address is
// resolved here, once, and checked by the SSRF guard; the SMTP client connects
// to exactly these addresses and never resolves a name again.
import { isIP } from 'node:net';
import type { Transport } from '@postamt/config';
import { type Cidr, type DnsResolver, isFqdn } from '@postamt/smtp-policy';
import { checkAddress } from './ip-safety.js';

export interface Candidate {
  /** Host name (MX exchange or transport host); the IP itself for an IP literal. */
  name: string;
  ip: string;
  port: number;
  /** Routed here by a transport override: the SSRF guard and MTA-STS do not apply. */
  explicit: boolean;
}

export type Route =
  | { kind: 'hosts'; hosts: Candidate[]; skipped: string[] }
  | { kind: 'fail'; permanent: boolean; status: string; text: string };

export interface RouteOptions {
  transports: Record<string, Transport>;
  smtpPort: number;
  allowNetworks: readonly Cidr[];
  /** Most addresses tried per destination (Postfix smtp_mx_address_limit). */
  maxAddresses?: number;
}

/** The next hop override for a domain, if any. */
export function transportFor(domain: string, transports: Record<string, Transport>): Transport | undefined {
  return transports[domain] ?? transports['*'];
}

/** Recipients with the same key share one route and one SMTP session. */
export function routeKey(domain: string, transports: Record<string, Transport>): string {
  const t = transportFor(domain, transports);
  if (!t) return domain;
  return t.literal ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** RFC 5321 §5.1: sort by preference, randomize among equal preferences. */
export function orderMx(records: { exchange: string; priority: number }[]): string[] {
  const byPref = new Map<number, string[]>();
  for (const r of records) byPref.set(r.priority, [...(byPref.get(r.priority) ?? []), r.exchange]);
  return [...byPref.keys()].sort((a, b) => a - b).flatMap((p) => shuffle(byPref.get(p) ?? []));
}

/** Every address: an operator-routed host may be private, but must still be a canonical literal. */
const ANY: Cidr[] = [
  { family: 4, bits: '' },
  { family: 6, bits: '' },
];

const isNullMx = (exchange: string) => exchange === '' || exchange === '.';

interface Addresses {
  ips: string[];
  tempfail: boolean;
}

async function addressesOf(name: string, dns: DnsResolver): Promise<Addresses> {
  if (isIP(name)) return { ips: [name], tempfail: false };
  const [a, aaaa] = await Promise.all([dns.lookup(name, 'A'), dns.lookup(name, 'AAAA')]);
  const ips = [...(a.kind === 'ok' ? a.records : []), ...(aaaa.kind === 'ok' ? aaaa.records : [])];
  return { ips, tempfail: a.kind === 'tempfail' || aaaa.kind === 'tempfail' };
}

export async function resolveRoute(domain: string, o: RouteOptions, dns: DnsResolver): Promise<Route> {
  const t = transportFor(domain, o.transports);
  // A transport override is an operator's explicit choice of next hop.
  if (t?.literal) return hostsOf([t.host], t.port, true, o, dns);
  const target = t ? t.host : domain;
  const port = t ? t.port : o.smtpPort;
  const mx = await dns.lookup(target, 'MX');
  if (mx.kind === 'tempfail') {
    return {
      kind: 'fail',
      permanent: false,
      status: '4.4.3',
      text: `MX lookup for ${target} failed (${mx.code})`,
    };
  }
  if (mx.kind === 'ok') {
    const real = mx.records.filter((r) => !isNullMx(r.exchange));
    // RFC 7505 §3: a null MX means the domain does not accept mail; bounce at once.
    if (real.length === 0) {
      return {
        kind: 'fail',
        permanent: true,
        status: '5.1.10',
        text: `${target} does not accept mail (null MX)`,
      };
    }
    return hostsOf(orderMx(real), port, Boolean(t), o, dns);
  }
  if (mx.code === 'ENOTFOUND') {
    return { kind: 'fail', permanent: true, status: '5.1.2', text: `domain ${target} not found` };
  }
  // RFC 5321 §5.1: no MX records → the domain itself is the implicit MX.
  return hostsOf([target], port, Boolean(t), o, dns);
}

async function hostsOf(
  names: string[],
  port: number,
  explicit: boolean,
  o: RouteOptions,
  dns: DnsResolver,
): Promise<Route> {
  const hosts: Candidate[] = [];
  const skipped: string[] = [];
  let tempfail = false;
  const limit = o.maxAddresses ?? 10;
  for (const raw of names) {
    const name = raw.replace(/\.$/, '').toLowerCase();
    // MX exchanges are host names, never address literals (RFC 5321 §5.1; RFC 7505 aside).
    if (!isIP(name) && !isFqdn(name)) {
      skipped.push(`${name}: not a fully-qualified host name`);
      continue;
    }
    if (isIP(name) && !explicit) {
      skipped.push(`${name}: MX is an IP address, not a host name`);
      continue;
    }
    const found = await addressesOf(name, dns);
    tempfail ||= found.tempfail;
    if (found.ips.length === 0) {
      skipped.push(`${name}: ${found.tempfail ? 'address lookup failed' : 'has no address'}`);
      continue;
    }
    for (const ip of found.ips) {
      const verdict = checkAddress(ip, explicit ? ANY : o.allowNetworks);
      if (!verdict.ok) {
        skipped.push(`${name} [${ip}]: ${verdict.reason}`);
        continue;
      }
      if (hosts.length < limit) hosts.push({ name, ip, port, explicit });
    }
  }
  if (hosts.length > 0) return { kind: 'hosts', hosts, skipped };
  if (tempfail) {
    return {
      kind: 'fail',
      permanent: false,
      status: '4.4.3',
      text: `no usable mail host yet: ${skipped.join('; ')}`,
    };
  }
  // Nothing left that may be contacted (no address, or only refused ones).
  return {
    kind: 'fail',
    permanent: true,
    status: '5.4.4',
    text: `no usable mail host: ${skipped.join('; ')}`,
  };
}
