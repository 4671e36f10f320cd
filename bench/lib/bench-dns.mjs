// A tiny authoritative DNS server over UDP for the benches: the one both
// Postfix (through /etc/netns/NAME/resolv.conf, which cannot name a port, so
// it listens on port 53 of a private veth address) and Postamt (through
// POSTAMT_DNS_SERVERS) ask, so the DNS-based checks cost both sides real
// lookups answered locally. Answers A, PTR, MX and TXT from a fixed zone;
// NODATA for other types of a known name, NXDOMAIN for unknown names
// (a DNSBL zone with no records lists nobody). No TCP: answers stay small.
import { createSocket } from 'node:dgram';
import { onCleanup } from './cleanup.mjs';

const TYPE = { A: 1, PTR: 12, MX: 15, TXT: 16, AAAA: 28 };

function encodeName(name) {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs = parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')]));
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

/** Reads the question's name starting at offset 12; returns { name, end }. */
function readQuestionName(msg) {
  const labels = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len > 63) return null; // no compression in a question we accept
    labels.push(msg.toString('ascii', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

function rdata(r) {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.address.split('.').map(Number));
    case 'PTR':
      return encodeName(r.name);
    case 'MX': {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(r.priority);
      return Buffer.concat([pref, encodeName(r.exchange)]);
    }
    case 'TXT': {
      const t = Buffer.from(r.text, 'ascii');
      return Buffer.concat([Buffer.from([t.length]), t]);
    }
    default:
      throw new Error(`bench-dns: unsupported record type ${r.type}`);
  }
}

export function answer(query, zone, ttl) {
  if (query.length < 17) return null;
  const q = readQuestionName(query);
  if (!q || q.end + 4 > query.length) return null;
  const qtype = query.readUInt16BE(q.end);
  const records = zone.get(q.name);
  const matching = (records ?? []).filter((r) => TYPE[r.type] === qtype);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  // QR, AA, RD copied, RA; rcode NXDOMAIN (3) for unknown names.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (records ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(matching.length, 6);
  const question = query.subarray(12, q.end + 4);
  const answers = matching.map((r) => {
    const data = rdata(r);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    fixed.writeUInt16BE(qtype, 2);
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(ttl, 6);
    fixed.writeUInt16BE(data.length, 10);
    return Buffer.concat([fixed, data]);
  });
  return Buffer.concat([header, question, ...answers]);
}

/** `1.2.3.4` → `4.3.2.1.in-addr.arpa`. */
export const reverseName = (ip) => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;

/**
 * Starts the server on host:port with `records` ({ name: [record, ...] }).
 * Returns { host, port, address: 'host:port', queries(), stop }.
 */
export async function startBenchDns({ host, port = 53, records, ttl = 3600 }) {
  const zone = new Map(Object.entries(records).map(([n, rs]) => [n.toLowerCase().replace(/\.$/, ''), rs]));
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (msg, rinfo) => {
    queries++;
    const out = answer(msg, zone, ttl);
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const stop = onCleanup(`bench dns ${host}:${port}`, async () => {
    await new Promise((resolve) => socket.close(() => resolve()));
  });
  return { host, port, address: `${host}:${port}`, queries: () => queries, stop };
}
