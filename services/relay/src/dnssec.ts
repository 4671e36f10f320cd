// The few DNS questions whose DNSSEC status matters (DANE, RFC 7672 §2.1),
// asked directly over UDP because Node's resolver does not expose the AD bit.
// The answer counts as secure only when the operator declared the configured
// resolvers validating and trustworthy (a local validating resolver); otherwise
// every answer is "insecure" and DANE stays off. RFC 6840 §5.7: we set AD in the
// query (and DO in EDNS) so a validating resolver reports the status.

import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { isIP } from 'node:net';

export const TYPE = { A: 1, MX: 15, AAAA: 28, TLSA: 52 } as const;

export type SecureAnswer =
  | { kind: 'ok'; secure: boolean; rdata: Buffer[] }
  | { kind: 'none'; secure: boolean }
  | { kind: 'tempfail'; reason: string };

export interface DnssecOptions {
  servers: { host: string; port: number }[];
  timeoutMs: number;
  /** The resolvers validate DNSSEC and their AD bit may be believed. */
  trustAd: boolean;
}

function encodeQuery(id: Buffer, name: string, type: number): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)]));
  const header = Buffer.from([0, 0, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1]); // RD, AD; 1 question, 1 OPT
  id.copy(header, 0);
  const question = Buffer.concat([...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1])]);
  // OPT RR (RFC 6891): root name, type 41, 1232-byte payload, DO bit set.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
  return Buffer.concat([header, question, opt]);
}

function skipName(buf: Buffer, off: number): number {
  for (;;) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
}

/** Parses the reply: rcode, AD bit and the RDATA of every answer of `type`. */
export function decodeReply(buf: Buffer, type: number): SecureAnswer {
  if (buf.length < 12) throw new Error('short reply');
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const secure = (flags & 0x0020) !== 0;
  if (flags & 0x0200) return { kind: 'tempfail', reason: 'truncated reply' };
  if (rcode === 3) return { kind: 'none', secure };
  if (rcode !== 0) return { kind: 'tempfail', reason: `rcode ${rcode}` };
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(buf, off) + 4;
  const rdata: Buffer[] = [];
  for (let i = 0; i < an; i++) {
    off = skipName(buf, off);
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 8);
    const start = off + 10;
    if (start + len > buf.length) throw new Error('truncated record');
    if (t === type) rdata.push(Buffer.from(buf.subarray(start, start + len)));
    off = start + len;
  }
  return rdata.length ? { kind: 'ok', secure, rdata } : { kind: 'none', secure };
}

function ask(server: { host: string; port: number }, name: string, type: number, timeoutMs: number) {
  return new Promise<SecureAnswer>((resolve) => {
    const id = randomBytes(2);
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const done = (a: SecureAnswer) => {
      clearTimeout(timer);
      sock.close();
      resolve(a);
    };
    const timer = setTimeout(() => done({ kind: 'tempfail', reason: 'timeout' }), timeoutMs);
    sock.on('error', (err) => done({ kind: 'tempfail', reason: err.message }));
    sock.on('message', (msg) => {
      // Anything else on the socket (a stale or spoofed reply) is ignored.
      if (msg.length < 12 || msg.readUInt16BE(0) !== id.readUInt16BE(0)) return;
      try {
        done(decodeReply(msg, type));
      } catch (err) {
        done({ kind: 'tempfail', reason: (err as Error).message });
      }
    });
    sock.send(encodeQuery(id, name, type), server.port, server.host);
  });
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` as node:dns getServers() gives them. */
function systemServer(s: string): { host: string; port: number } {
  if (isIP(s)) return { host: s, port: 53 };
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return { host: m?.[1] ?? s, port: Number(m?.[2] ?? 53) };
}

export class DnssecResolver {
  constructor(private readonly o: DnssecOptions) {}

  get enabled(): boolean {
    return this.o.trustAd;
  }

  async lookup(name: string, type: number): Promise<SecureAnswer> {
    const servers = this.o.servers.length ? this.o.servers : getServers().map(systemServer);
    let last: SecureAnswer = { kind: 'tempfail', reason: 'no resolver' };
    for (const s of servers) {
      last = await ask(s, name, type, this.o.timeoutMs);
      if (last.kind !== 'tempfail') break;
    }
    if (last.kind !== 'tempfail' && !this.o.trustAd) return { ...last, secure: false };
    return last;
  }
}
