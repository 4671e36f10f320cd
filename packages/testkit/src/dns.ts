// The one stand-in allowed in tests: a DNS server on loopback whose answers each
// test sets. Postamt's services take it as POSTAMT_DNS_SERVERS, so reverse DNS,
// blocklist, SPF and MX checks run offline. Names without records answer
// NXDOMAIN; a name marked `timeout` is never answered (to test DNS timeouts).
import dns2 from 'dns2';
import { freePort } from './ports.js';

const { Packet } = dns2;

export type DnsRecord =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'PTR'; name: string }
  | { type: 'MX'; exchange: string; priority: number }
  | { type: 'TXT'; text: string | string[] }
  | { type: 'CNAME'; name: string }
  | { type: 'TLSA'; usage: number; selector: number; matchingType: number; data: Buffer };

type RecordType = DnsRecord['type'];

const TYPE_CODE: Record<RecordType, number> = {
  A: Packet.TYPE.A,
  AAAA: Packet.TYPE.AAAA,
  PTR: Packet.TYPE.PTR,
  MX: Packet.TYPE.MX,
  TXT: Packet.TYPE.TXT,
  CNAME: Packet.TYPE.CNAME,
  TLSA: 52, // RFC 6698; dns2 has no codec, so the RDATA goes out raw
};

export interface TestDnsServer {
  host: string;
  port: number;
  /** `127.0.0.1:port` for POSTAMT_DNS_SERVERS. */
  address: string;
  /** Replaces the records of `name` (every type). */
  set(name: string, records: DnsRecord[]): void;
  /** Adds records to `name`. */
  add(name: string, ...records: DnsRecord[]): void;
  /** A and PTR together: forward-confirmed reverse DNS for `ip`. */
  host4(name: string, ip: string): void;
  /** Queries for `name` are never answered. */
  timeout(name: string): void;
  /** Answers for `name` carry the AD bit, as from a validating resolver (DNSSEC secure). */
  secure(name: string): void;
  /** Over UDP, answer `name` with TC set and no records (too big for a datagram); over TCP in full. */
  truncate(name: string): void;
  /** Answer SERVFAIL for `name`. */
  servfail(name: string): void;
  remove(name: string): void;
  clear(): void;
  /** Questions seen, `TYPE name`, for assertions on what was looked up. */
  readonly queries: string[];
  /** The subset of `queries` that came over TCP. */
  readonly tcpQueries: string[];
  stop(): Promise<void>;
}

/**
 * An IPv6 address as its eight groups of four hex digits, also from the mixed
 * notation (`::ffff:127.0.0.1`), which dns2's encoder gets wrong.
 */
function ipv6Groups(ip: string): string[] {
  let text = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, v4.index)}${hex(a, b)}:${hex(c, d)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? Array(8 - head.length - tail.length).fill('0') : [];
  return [...head, ...fill, ...tail].map((g) => g.padStart(4, '0'));
}

/** `1.2.3.4` → `4.3.2.1.in-addr.arpa`; IPv6 by nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  if (ip.includes(':')) return `${ipv6Groups(ip).join('').split('').reverse().join('.')}.ip6.arpa`;
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

function toAnswer(name: string, r: DnsRecord, ttl: number): Record<string, unknown> {
  const base = { name, class: Packet.CLASS.IN, ttl, type: TYPE_CODE[r.type] };
  switch (r.type) {
    case 'A':
      return { ...base, address: r.address };
    case 'AAAA':
      return { ...base, address: ipv6Groups(r.address).join(':') };
    case 'PTR':
    case 'CNAME':
      return { ...base, domain: r.name };
    case 'MX':
      return { ...base, exchange: r.exchange, priority: r.priority };
    case 'TXT':
      return { ...base, data: Array.isArray(r.text) ? r.text : [r.text] };
    case 'TLSA':
      return { ...base, data: Buffer.concat([Buffer.from([r.usage, r.selector, r.matchingType]), r.data]) };
  }
}

export async function startDnsServer(opts: { ttl?: number } = {}): Promise<TestDnsServer> {
  const ttl = opts.ttl ?? 60;
  const zone = new Map<string, DnsRecord[]>();
  const silent = new Set<string>();
  const failing = new Set<string>();
  const signed = new Set<string>();
  const truncated = new Set<string>();
  const queries: string[] = [];
  const tcpQueries: string[] = [];
  const key = (n: string) => n.toLowerCase().replace(/\.$/, '');
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    // biome-ignore lint/suspicious/noExplicitAny: dns2 ships no types for packets
    handle(request: any, send: (res: any) => void, client: unknown) {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      if (!q) return send(response);
      const name = key(q.name);
      const typeName =
        (Object.keys(TYPE_CODE) as RecordType[]).find((t) => TYPE_CODE[t] === q.type) ?? String(q.type);
      // A TCP client is a socket; a UDP one is the sender's address.
      const overTcp = typeof (client as { write?: unknown })?.write === 'function';
      queries.push(`${typeName} ${name}`);
      if (overTcp) tcpQueries.push(`${typeName} ${name}`);
      if (silent.has(name)) return;
      if (truncated.has(name) && !overTcp) {
        response.header.tc = 1;
        return send(response);
      }
      if (failing.has(name)) {
        response.header.rcode = 2; // SERVFAIL
        return send(response);
      }
      const records = zone.get(name);
      if (!records) {
        if (signed.has(name)) (response.header as { ad?: number }).ad = 1;
        response.header.rcode = 3; // NXDOMAIN
        return send(response);
      }
      // As a recursive resolver answers: a CNAME, then what its target has (RFC 1034 §3.6.2), up to 8 links;
      // secure only if every name on the chain is.
      let owner = q.name as string;
      let secure = signed.has(name);
      let at = records;
      for (let link = 0; link < 8; link++) {
        let next: string | null = null;
        for (const r of at) {
          if (TYPE_CODE[r.type] === q.type || (r.type === 'CNAME' && q.type !== TYPE_CODE.CNAME)) {
            response.answers.push(toAnswer(owner, r, ttl) as never);
            if (r.type === 'CNAME' && q.type !== TYPE_CODE.CNAME) next = r.name;
          }
        }
        const target = next === null ? undefined : zone.get(key(next));
        if (next === null || !target) break;
        secure &&= signed.has(key(next));
        owner = next;
        at = target;
      }
      // dns2 encodes the AD bit but its Header type does not declare it.
      if (secure) (response.header as { ad?: number }).ad = 1;
      send(response);
    },
  });
  const port = await freePort();
  await server.listen({
    udp: { port, address: '127.0.0.1', type: 'udp4' } as never,
    tcp: { port, address: '127.0.0.1' },
  });
  const api: TestDnsServer = {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    queries,
    tcpQueries,
    set(name, records) {
      zone.set(key(name), [...records]);
      silent.delete(key(name));
      failing.delete(key(name));
    },
    add(name, ...records) {
      zone.set(key(name), [...(zone.get(key(name)) ?? []), ...records]);
    },
    host4(name, ip) {
      api.add(name, ip.includes(':') ? { type: 'AAAA', address: ip } : { type: 'A', address: ip });
      api.add(reverseName(ip), { type: 'PTR', name });
    },
    timeout(name) {
      silent.add(key(name));
    },
    secure(name) {
      signed.add(key(name));
    },
    truncate(name) {
      truncated.add(key(name));
    },
    servfail(name) {
      failing.add(key(name));
    },
    remove(name) {
      zone.delete(key(name));
      silent.delete(key(name));
      failing.delete(key(name));
    },
    clear() {
      zone.clear();
      silent.clear();
      failing.clear();
      signed.clear();
      truncated.clear();
      queries.length = 0;
      tcpQueries.length = 0;
    },
    async stop() {
      await server.close();
    },
  };
  return api;
}
