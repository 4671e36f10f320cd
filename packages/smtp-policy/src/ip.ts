// IP helpers: reverse names for PTR and DNSBL queries, CIDR matching for
// trusted networks and allowlists, and the greylisting network of a client.
import { isIP } from 'node:net';

/** All 32 nibbles of an IPv6 address (RFC 3596 §2.5), expanded. */
function ipv6Hex(ip: string): string {
  const [headPart = '', tailPart] = ip.split('::');
  const head = headPart ? headPart.split(':') : [];
  const tail = tailPart ? tailPart.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (groups: string[]) =>
    groups.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const b = g.split('.').map(Number);
      return [
        (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16),
        (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16),
      ];
    });
  const h = expand(head);
  const t = expand(tail);
  const fill = tailPart !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('');
}

/** `192.0.2.1` → `1.2.0.192`; IPv6 → 32 reversed nibbles. Append `.in-addr.arpa` or a DNSBL zone. */
export function reversedIp(ip: string): string {
  if (isIP(ip) === 6) return ipv6Hex(ip).split('').reverse().join('.');
  return ip.split('.').reverse().join('.');
}

/** RFC 1035 §3.5 / RFC 3596 §2.5 reverse name. */
export function ptrName(ip: string): string {
  return `${reversedIp(ip)}.${isIP(ip) === 6 ? 'ip6.arpa' : 'in-addr.arpa'}`;
}

/** `::ffff:192.0.2.1` (how Node reports IPv4 on a dual-stack socket) → `192.0.2.1`. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] ?? ip.toLowerCase();
}

function toBits(ip: string): string {
  if (isIP(ip) === 6)
    return ipv6Hex(ip)
      .split('')
      .map((h) => Number.parseInt(h, 16).toString(2).padStart(4, '0'))
      .join('');
  return ip
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
}

export interface Cidr {
  family: 4 | 6;
  bits: string;
  /** IPv4 only, set by parseCidr: the network and its mask as numbers (matched without strings). */
  v4?: { net: number; mask: number };
}

/** A valid IPv4 address as an unsigned 32-bit number. */
function ipv4Number(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return n * 256 + octet;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a single address. Null when malformed. */
export function parseCidr(value: string): Cidr | null {
  const [addr = '', len] = value.trim().split('/');
  const family = isIP(addr);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const n = len === undefined ? max : Number(len);
  if (!Number.isInteger(n) || n < 0 || n > max) return null;
  const cidr: Cidr = { family: family as 4 | 6, bits: toBits(addr).slice(0, n) };
  if (family === 4) {
    const mask = maskOf(n);
    cidr.v4 = { net: (ipv4Number(addr) & mask) >>> 0, mask };
  }
  return cidr;
}

export function inCidrs(ip: string, cidrs: readonly Cidr[]): boolean {
  if (cidrs.length === 0) return false;
  const a = normalizeIp(ip);
  const family = isIP(a);
  if (family === 0) return false;
  // Checked on every connection (trusted networks, exceptions): IPv4 as numbers.
  const n = family === 4 ? ipv4Number(a) : 0;
  let bits: string | undefined;
  for (const c of cidrs) {
    if (c.family !== family) continue;
    if (c.v4) {
      if ((n & c.v4.mask) >>> 0 === c.v4.net) return true;
      continue;
    }
    bits ??= toBits(a);
    if (bits.startsWith(c.bits)) return true;
  }
  return false;
}

/** The greylisting network of a client: its /24 (IPv4) or /64 (IPv6), as text. */
export function clientNetwork(ip: string): string {
  const a = normalizeIp(ip);
  if (isIP(a) === 6) return `${ipv6Hex(a).slice(0, 16)}/64`;
  return `${a.split('.').slice(0, 3).join('.')}.0/24`;
}
