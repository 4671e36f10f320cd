// SSRF guard for outbound connections: the relay connects only to public
// unicast addresses, unless a transport override routes a domain to a host on
// purpose. DNS answers (A/AAAA) are binary and so always canonical; the forms
// checked here are the special-purpose ranges of RFC 6890 and the IPv6
// encodings of IPv4 (mapped, NAT64, 6to4, Teredo, compatible) that would smuggle
// a private IPv4 address past a v4-only check.
import { isIP } from 'node:net';
import { type Cidr, inCidrs, parseCidr } from '@postamt/smtp-policy';

const cidrs = (list: string[]): Cidr[] => list.map((c) => parseCidr(c) as Cidr);

/** RFC 6890 special-purpose IPv4 ranges that are never a remote MX. */
const BLOCKED_V4 = cidrs([
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // CGNAT, RFC 6598
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata 169.254.169.254
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
]);

/** IPv6: only global unicast 2000::/3 is acceptable, minus these. */
const GLOBAL_V6 = cidrs(['2000::/3']);
const BLOCKED_V6 = cidrs([
  '2001::/32', // Teredo (embeds an IPv4 address)
  '2001:2::/48', // benchmarking
  '2001:10::/28', // ORCHID
  '2001:20::/28', // ORCHIDv2
  '2001:db8::/32', // documentation
  '2002::/16', // 6to4 (embeds an IPv4 address)
  '3fff::/20', // documentation
  '64:ff9b::/96', // NAT64 (outside 2000::/3 anyway; listed for clarity)
  '64:ff9b:1::/48', // local-use NAT64
]);

export type AddressVerdict = { ok: true } | { ok: false; reason: string };

/**
 * May the relay connect to `ip`? `allow` lists networks permitted although not
 * public (tests only). Anything not a plain canonical address is refused.
 */
export function checkAddress(ip: string, allow: readonly Cidr[] = []): AddressVerdict {
  const family = isIP(ip);
  if (family === 0) return { ok: false, reason: 'not an IP address' };
  if (family === 4 && !isCanonicalV4(ip)) return { ok: false, reason: 'non-canonical IPv4 literal' };
  if (inCidrs(ip, allow)) return { ok: true };
  if (family === 4) {
    return inCidrs(ip, BLOCKED_V4) ? { ok: false, reason: 'non-public IPv4 address' } : { ok: true };
  }
  // ::ffff:a.b.c.d, ::a.b.c.d and friends are outside 2000::/3, so refused here.
  if (!inCidrs(ip, GLOBAL_V6)) return { ok: false, reason: 'not a global unicast IPv6 address' };
  if (inCidrs(ip, BLOCKED_V6)) return { ok: false, reason: 'special-purpose IPv6 address' };
  return { ok: true };
}

/** Four decimal octets without leading zeros (`010.0.0.1` is octal to some parsers). */
function isCanonicalV4(ip: string): boolean {
  return ip.split('.').every((o) => o === '0' || /^[1-9]\d{0,2}$/.test(o));
}
