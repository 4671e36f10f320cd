// The few DNS questions whose DNSSEC status matters (DANE, RFC 7672 §2.1),
// asked directly because Node's resolver does not expose the AD bit: over UDP,
// and again over TCP when the reply is truncated (RFC 7766 §5) — signed TLSA
// and MX answers often exceed a datagram.
// The answer counts as secure only when the operator declared the configured
// resolvers validating and trustworthy (a local validating resolver); otherwise
// every answer is "insecure" and DANE stays off. RFC 6840 §5.7: we set AD in the
// query (and DO in EDNS) so a validating resolver reports the status.

import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { connect, isIP } from 'node:net';

export const TYPE = { A: 1, CNAME: 5, MX: 15, AAAA: 28, TLSA: 52 } as const;

/** Header flag: the reply did not fit (RFC 1035 §4.1.1). */
const TC = 0x0200;

/** `canonical`: where the question's CNAME chain in the answer ends, when it has one. */
export type SecureAnswer =
  | { kind: 'ok'; secure: boolean; rdata: Buffer[]; canonical?: string }
  | { kind: 'none'; secure: boolean; canonical?: string }
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

/** A name at `off` (RFC 1035 §4.1.4 pointers followed), lower-cased, and the offset after it. */
function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  for (let hops = 0; ; ) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) throw new Error('truncated name');
      if (next < 0) next = off + 2;
      if (++hops > 64) throw new Error('name pointer loop');
      off = ((len & 0x3f) << 8) | (buf[off + 1] as number);
      continue;
    }
    if (off + 1 + len > buf.length) throw new Error('truncated name');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += len + 1;
  }
  return { name: labels.join('.'), next };
}

/** The end of the CNAME chain that starts at `name` (RFC 1034 §3.6.2), loops cut at 16 links. */
function chainEnd(name: string, aliases: Map<string, string>): string {
  let at = name;
  for (let i = 0; i < 16; i++) {
    const to = aliases.get(at);
    if (to === undefined) break;
    at = to;
  }
  return at;
}

/** Parses the reply: rcode, AD bit and the RDATA of every answer of `type`. */
export function decodeReply(buf: Buffer, type: number): SecureAnswer {
  if (buf.length < 12) throw new Error('short reply');
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const secure = (flags & 0x0020) !== 0;
  if (flags & TC) return { kind: 'tempfail', reason: 'truncated reply' };
  if (rcode === 3) return { kind: 'none', secure };
  if (rcode !== 0) return { kind: 'tempfail', reason: `rcode ${rcode}` };
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  let question = '';
  for (let i = 0; i < qd; i++) {
    const q = readName(buf, off);
    if (i === 0) question = q.name;
    off = q.next + 4;
  }
  const rdata: Buffer[] = [];
  const aliases = new Map<string, string>();
  for (let i = 0; i < an; i++) {
    const owner = readName(buf, off);
    off = owner.next;
    if (off + 10 > buf.length) throw new Error('truncated record');
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 8);
    const start = off + 10;
    if (start + len > buf.length) throw new Error('truncated record');
    if (t === type) rdata.push(Buffer.from(buf.subarray(start, start + len)));
    else if (t === TYPE.CNAME) aliases.set(owner.name, readName(buf, start).name);
    off = start + len;
  }
  const end = chainEnd(question, aliases);
  const canonical = end !== question ? { canonical: end } : {};
  return rdata.length ? { kind: 'ok', secure, rdata, ...canonical } : { kind: 'none', secure, ...canonical };
}

type Server = { host: string; port: number };
type RawReply = { reply: Buffer } | { failed: string };

/** One query over UDP; replies with another id (stale or spoofed) are ignored. */
function overUdp(server: Server, id: Buffer, query: Buffer, timeoutMs: number) {
  return new Promise<RawReply>((resolve) => {
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const done = (r: RawReply) => {
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ failed: 'timeout' }), timeoutMs);
    sock.on('error', (err) => done({ failed: err.message }));
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id.readUInt16BE(0)) done({ reply: msg });
    });
    sock.send(query, server.port, server.host);
  });
}

/** One query over TCP, each message behind its two-byte length (RFC 1035 §4.2.2). */
function overTcp(server: Server, id: Buffer, query: Buffer, timeoutMs: number) {
  return new Promise<RawReply>((resolve) => {
    const sock = connect({ host: server.host, port: server.port });
    let got = Buffer.alloc(0);
    const done = (r: RawReply) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ failed: 'timeout' }), timeoutMs);
    sock.on('error', (err) => done({ failed: err.message }));
    sock.on('close', () => done({ failed: 'connection closed' }));
    sock.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 2) return;
      const len = got.readUInt16BE(0);
      if (got.length < 2 + len) return;
      const msg = got.subarray(2, 2 + len);
      if (msg.length < 12 || msg.readUInt16BE(0) !== id.readUInt16BE(0))
        done({ failed: 'reply id mismatch' });
      else done({ reply: msg });
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    sock.write(Buffer.concat([length, query]));
  });
}

async function ask(server: Server, name: string, type: number, timeoutMs: number): Promise<SecureAnswer> {
  const id = randomBytes(2);
  const query = encodeQuery(id, name, type);
  let raw = await overUdp(server, id, query, timeoutMs);
  if ('reply' in raw && raw.reply.readUInt16BE(2) & TC) raw = await overTcp(server, id, query, timeoutMs);
  if ('failed' in raw) return { kind: 'tempfail', reason: raw.failed };
  try {
    return decodeReply(raw.reply, type);
  } catch (err) {
    return { kind: 'tempfail', reason: (err as Error).message };
  }
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` as node:dns getServers() gives them. */
function systemServer(s: string): Server {
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
