// The PROXY protocol header a load balancer sends before any SMTP byte
// (haproxy's proxy-protocol.txt, versions 1 and 2), so that checks see the real
// client address rather than the balancer's. Pure. Only for listeners that are
// configured for it: on an open listener anyone could claim any address.

import { isIPv4, isIPv6 } from 'node:net';

export interface ProxyAddress {
  address: string;
  port: number;
}

export type ProxyParse =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /** `source` is absent for LOCAL (v2) and UNKNOWN (v1): the balancer's own connection, e.g. a health check. */
  | { kind: 'ok'; length: number; version: 1 | 2; source?: ProxyAddress; destination?: ProxyAddress };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** v1: the whole line, CRLF included, is at most 107 octets. */
const V1_MAX = 107;

export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  return { kind: 'invalid', reason: 'no PROXY header' };
}

/** True while `buf` could still become `prefix`. */
function prefixOf(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyParse {
  if (!prefixOf(buf, V1_PREFIX)) return { kind: 'invalid', reason: 'bad v1 signature' };
  const lf = buf.indexOf(0x0a);
  if (lf < 0)
    return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'v1 line too long' } : { kind: 'incomplete' };
  if (lf + 1 > V1_MAX || buf[lf - 1] !== 0x0d) return { kind: 'invalid', reason: 'bad v1 line' };
  const parts = buf
    .subarray(0, lf - 1)
    .toString('latin1')
    .split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'ok', length: lf + 1, version: 1 };
  if (parts.length !== 6) return { kind: 'invalid', reason: 'bad v1 field count' };
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const isIp = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : null;
  if (!isIp?.(src) || !isIp(dst)) return { kind: 'invalid', reason: 'bad v1 address' };
  const port = (s: string) => (/^(0|[1-9]\d{0,4})$/.test(s) && Number(s) <= 65535 ? Number(s) : -1);
  if (port(sport) < 0 || port(dport) < 0) return { kind: 'invalid', reason: 'bad v1 port' };
  return {
    kind: 'ok',
    length: lf + 1,
    version: 1,
    source: { address: src, port: port(sport) },
    destination: { address: dst, port: port(dport) },
  };
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Canonical enough for checks; normalised later by whoever compares addresses.
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function parseV2(buf: Buffer): ProxyParse {
  if (!prefixOf(buf, V2_SIGNATURE)) return { kind: 'invalid', reason: 'bad v2 signature' };
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'bad v2 version' };
  const cmd = verCmd & 0x0f;
  const family = buf[13] as number;
  const len = buf.readUInt16BE(14);
  const total = 16 + len;
  if (buf.length < total) return { kind: 'incomplete' };
  if (cmd === 0) return { kind: 'ok', length: total, version: 2 }; // LOCAL
  if (cmd !== 1) return { kind: 'invalid', reason: 'bad v2 command' };
  const body = buf.subarray(16, total);
  switch (family) {
    case 0x11: // TCP over IPv4
      if (len < 12) return { kind: 'invalid', reason: 'short v2 IPv4 block' };
      return {
        kind: 'ok',
        length: total,
        version: 2,
        source: { address: Array.from(body.subarray(0, 4)).join('.'), port: body.readUInt16BE(8) },
        destination: { address: Array.from(body.subarray(4, 8)).join('.'), port: body.readUInt16BE(10) },
      };
    case 0x21: // TCP over IPv6
      if (len < 36) return { kind: 'invalid', reason: 'short v2 IPv6 block' };
      return {
        kind: 'ok',
        length: total,
        version: 2,
        source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
      };
    case 0x00: // UNSPEC: keep the connection's own addresses
      return { kind: 'ok', length: total, version: 2 };
    default:
      return { kind: 'invalid', reason: 'unsupported v2 address family' };
  }
}

/** Builds a v2 header (for tests and for anyone fronting the intake). */
export function proxyV2Header(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const v4 = isIPv4(source.address);
  const body = Buffer.alloc(v4 ? 12 : 36);
  if (v4) {
    body.set(source.address.split('.').map(Number), 0);
    body.set(destination.address.split('.').map(Number), 4);
    body.writeUInt16BE(source.port, 8);
    body.writeUInt16BE(destination.port, 10);
  } else {
    ipv6Bytes(source.address).copy(body, 0);
    ipv6Bytes(destination.address).copy(body, 16);
    body.writeUInt16BE(source.port, 32);
    body.writeUInt16BE(destination.port, 34);
  }
  const head = Buffer.from([...V2_SIGNATURE, 0x21, v4 ? 0x11 : 0x21, 0, 0]);
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

function ipv6Bytes(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = addr.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}
