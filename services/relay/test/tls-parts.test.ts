// The MTA-STS fetcher, the DNSSEC-aware TLSA lookup and DANE matching in
// process, over real sockets: the test DNS server, an HTTPS policy host with a
// test-CA certificate, and TLS handshakes with certificates from that CA.
import { once } from 'node:events';
import { createServer as createHttps, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, createServer as createTls, type TLSSocket } from 'node:tls';
import { type Cidr, createResolver, parseCidr } from '@postamt/smtp-policy';
import { freePort, makeTempDir, startDnsServer, type TestDnsServer } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tlsa, verifyDane } from '../src/dane.js';
import { DnssecResolver, TYPE } from '../src/dnssec.js';
import { MtaSts, mxMatches, parsePolicy, parseStsTxt } from '../src/mta-sts.js';
import { selfSignedCert } from './support/fixtures.js';
import { type Issued, startCa, type TestCa, tlsaData } from './support/pki.js';

let dns: TestDnsServer;
let ca: TestCa;
let https: Server;
let httpsPort: number;
let fetches = 0;
let policy = '';
const loopback = [parseCidr('127.0.0.0/8') as Cidr];

beforeAll(async () => {
  dns = await startDnsServer();
  ca = startCa(makeTempDir('tls-parts'));
  const cert = ca.issue(['mta-sts.cached.test', 'mta-sts.private.test']);
  https = createHttps({ key: cert.key, cert: cert.cert }, (_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
  });
  httpsPort = await freePort();
  await new Promise<void>((r) => https.listen(httpsPort, '127.0.2.1', r));
  dns.set('_mta-sts.cached.test', [{ type: 'TXT', text: 'v=STSv1; id=one' }]);
  dns.set('mta-sts.cached.test', [{ type: 'A', address: '127.0.2.1' }]);
  dns.set('_mta-sts.private.test', [{ type: 'TXT', text: 'v=STSv1; id=one' }]);
  dns.set('mta-sts.private.test', [{ type: 'A', address: '127.0.2.1' }]);
});

afterAll(async () => {
  await new Promise((r) => https?.close(r));
  await dns?.stop();
});

function resolver() {
  return createResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000, maxTtlMs: 0 });
}

describe('MTA-STS parsing', () => {
  it('reads TXT ids, policies and mx patterns as RFC 8461 says', () => {
    expect(parseStsTxt('v=STSv1; id=20240101T000000')).toBe('20240101T000000');
    expect(parseStsTxt('v=STSv2; id=1')).toBeNull();
    expect(parseStsTxt('v=STSv1;')).toBeNull();
    const p = parsePolicy(
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n',
      'x',
    );
    expect(p).toEqual({
      id: 'x',
      mode: 'enforce',
      mx: ['mail.example.com', '*.example.net'],
      maxAge: 604800,
    });
    expect(parsePolicy('version: STSv1\nmode: enforce\nmax_age: 1\n', 'x')).toBeNull();
    expect(parsePolicy('version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n', 'x')).toBeNull();
    expect(mxMatches('mx1.example.net', ['*.example.net'])).toBe(true);
    expect(mxMatches('a.mx1.example.net', ['*.example.net'])).toBe(false);
    expect(mxMatches('example.net', ['*.example.net'])).toBe(false);
    expect(mxMatches('MAIL.example.com.', ['mail.example.com'])).toBe(true);
  });
});

describe('MTA-STS fetch', () => {
  it('caches a policy for max_age, fetching again only once it expired', async () => {
    policy = 'version: STSv1\nmode: enforce\nmx: mx.cached.test\nmax_age: 60\n';
    let clock = 1_000_000;
    const sts = new MtaSts({
      dns: resolver(),
      allowNetworks: loopback,
      ca: [ca.cert],
      port: httpsPort,
      timeoutMs: 5000,
      now: () => clock,
    });
    const before = fetches;
    const first = await sts.policy('cached.test');
    expect(first.source).toBe('fetched');
    expect(first.policy?.mode).toBe('enforce');
    expect(MtaSts.check('mx.cached.test', first.policy)).toEqual({
      mode: 'enforce',
      matched: true,
      allowed: true,
    });
    expect(MtaSts.check('other.cached.test', first.policy).allowed).toBe(false);
    clock += 59_000;
    expect((await sts.policy('cached.test')).source).toBe('cached');
    expect(fetches - before).toBe(1);
    clock += 2_000;
    expect((await sts.policy('cached.test')).source).toBe('fetched');
    expect(fetches - before).toBe(2);
  });

  it('keeps the cached policy when the policy host cannot be reached (RFC 8461 §5.1)', async () => {
    policy = 'version: STSv1\nmode: enforce\nmx: mx.cached.test\nmax_age: 600\n';
    let clock = 5_000_000;
    const sts = new MtaSts({
      dns: resolver(),
      allowNetworks: loopback,
      ca: [ca.cert],
      port: httpsPort,
      timeoutMs: 5000,
      now: () => clock,
    });
    expect((await sts.policy('cached.test')).source).toBe('fetched');
    // A new id makes it fetch again; the policy host is gone, so the cached policy stays in force.
    dns.set('_mta-sts.cached.test', [{ type: 'TXT', text: 'v=STSv1; id=two' }]);
    dns.set('mta-sts.cached.test', [{ type: 'A', address: '127.0.2.2' }]);
    clock += 1000;
    const r = await sts.policy('cached.test');
    expect(r.source).toMatch(/^cached \(error: /);
    expect(r.policy?.id).toBe('one');
    dns.set('_mta-sts.cached.test', [{ type: 'TXT', text: 'v=STSv1; id=one' }]);
    dns.set('mta-sts.cached.test', [{ type: 'A', address: '127.0.2.1' }]);
  });

  it('guards the fetch like an SMTP connection: a loopback policy host is refused unless routed there', async () => {
    policy = 'version: STSv1\nmode: enforce\nmx: mx.private.test\nmax_age: 600\n';
    const before = fetches;
    const guarded = new MtaSts({
      dns: resolver(),
      allowNetworks: [],
      ca: [ca.cert],
      port: httpsPort,
      timeoutMs: 5000,
    });
    const r = await guarded.policy('private.test');
    expect(r.policy).toBeNull();
    expect(r.source).toMatch(/policy host refused \(127\.0\.2\.1: non-public IPv4 address\)/);
    expect(fetches).toBe(before);
    const routed = new MtaSts({
      dns: resolver(),
      allowNetworks: loopback,
      ca: [ca.cert],
      port: httpsPort,
      timeoutMs: 5000,
    });
    expect((await routed.policy('private.test')).policy?.mx).toEqual(['mx.private.test']);
  });

  it('refuses a policy host whose certificate is not valid under our CAs', async () => {
    const sts = new MtaSts({ dns: resolver(), allowNetworks: loopback, port: httpsPort, timeoutMs: 5000 });
    const r = await sts.policy('private.test');
    expect(r.policy).toBeNull();
    expect(r.source).toMatch(/^error: /);
  });
});

describe('DNSSEC-aware lookups', () => {
  it('returns TLSA data with the AD bit, and never calls an answer secure unless told to trust it', async () => {
    const data = Buffer.alloc(32, 9);
    dns.set('_25._tcp.mx.signed.test', [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1, data }]);
    dns.secure('_25._tcp.mx.signed.test');
    dns.set('_25._tcp.mx.unsigned.test', [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1, data }]);
    const servers = [{ host: dns.host, port: dns.port }];
    const trusting = new DnssecResolver({ servers, timeoutMs: 2000, trustAd: true });
    const signed = await trusting.lookup('_25._tcp.mx.signed.test', TYPE.TLSA);
    expect(signed).toEqual({
      kind: 'ok',
      secure: true,
      rdata: [Buffer.concat([Buffer.from([3, 1, 1]), data])],
    });
    expect(await trusting.lookup('_25._tcp.mx.unsigned.test', TYPE.TLSA)).toMatchObject({
      kind: 'ok',
      secure: false,
    });
    expect(await trusting.lookup('_25._tcp.nothing.test', TYPE.TLSA)).toMatchObject({ kind: 'none' });
    const distrusting = new DnssecResolver({ servers, timeoutMs: 2000, trustAd: false });
    expect(await distrusting.lookup('_25._tcp.mx.signed.test', TYPE.TLSA)).toMatchObject({
      kind: 'ok',
      secure: false,
    });
    dns.servfail('_25._tcp.mx.broken.test');
    expect(await trusting.lookup('_25._tcp.mx.broken.test', TYPE.TLSA)).toMatchObject({ kind: 'tempfail' });
  });
});

/** A TLS handshake with a server presenting `chain`; the client socket is returned. */
async function handshake(server: {
  key: string;
  cert: string;
}): Promise<{ socket: TLSSocket; close: () => void }> {
  const srv = createTls({ key: server.key, cert: server.cert }, (s) => s.on('error', () => {}));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const socket = connect({
    host: '127.0.0.1',
    port: (srv.address() as AddressInfo).port,
    rejectUnauthorized: false,
    servername: 'mx.dane.test',
  });
  await once(socket, 'secureConnect');
  return {
    socket,
    close: () => {
      socket.destroy();
      srv.close();
    },
  };
}

describe('DANE matching (RFC 7672, RFC 6698)', () => {
  let issued: Issued;
  let self: { key: string; cert: string };
  beforeAll(() => {
    issued = ca.issue(['mx.dane.test']);
    self = selfSignedCert(makeTempDir('dane-self'), 'whatever.invalid');
  });
  const rec = (usage: number, selector: 0 | 1, mtype: 0 | 1 | 2, pem: string): Tlsa => ({
    usage,
    selector,
    mtype,
    data: tlsaData(pem, selector, mtype),
  });

  it.each([
    ['DANE-EE SPKI SHA-256', 3, 1, 1, 'leaf', 'dane-ee 3 1 1'],
    ['DANE-EE SPKI SHA-512', 3, 1, 2, 'leaf', 'dane-ee 3 1 2'],
    ['DANE-EE full certificate', 3, 0, 0, 'leaf', 'dane-ee 3 0 0'],
    ['DANE-EE certificate SHA-256', 3, 0, 1, 'leaf', 'dane-ee 3 0 1'],
    ['DANE-TA certificate SHA-256', 2, 0, 1, 'ca', 'dane-ta 2 0 1'],
    ['DANE-TA SPKI SHA-512', 2, 1, 2, 'ca', 'dane-ta 2 1 2'],
    ['DANE-TA full SPKI', 2, 1, 0, 'ca', 'dane-ta 2 1 0'],
  ] as const)('%s matches', async (_n, usage, selector, mtype, which, match) => {
    const { socket, close } = await handshake(issued);
    try {
      const pem = which === 'leaf' ? issued.leaf : ca.cert;
      expect(verifyDane(socket, [rec(usage, selector, mtype, pem)], ['mx.dane.test'])).toEqual({
        ok: true,
        match,
      });
    } finally {
      close();
    }
  });

  it('DANE-EE ignores names (a self-signed certificate for another name matches by key)', async () => {
    const { socket, close } = await handshake(self);
    try {
      expect(verifyDane(socket, [rec(3, 1, 1, self.cert)], ['mx.dane.test']).ok).toBe(true);
    } finally {
      close();
    }
  });

  it('refuses a TA match whose leaf does not name the MX, and data matching nothing', async () => {
    const { socket, close } = await handshake(issued);
    try {
      expect(verifyDane(socket, [rec(2, 0, 1, ca.cert)], ['mx.other.test'])).toEqual({
        ok: false,
        reason: 'certificate not valid for mx.other.test',
      });
      // RFC 7672 §3.2.2: with TLSA records found at the CNAME-expanded name, either name will do.
      expect(verifyDane(socket, [rec(2, 0, 1, ca.cert)], ['mx.other.test', 'mx.dane.test']).ok).toBe(true);
      expect(
        verifyDane(socket, [{ usage: 3, selector: 1, mtype: 1, data: Buffer.alloc(32) }], ['mx.dane.test'])
          .ok,
      ).toBe(false);
    } finally {
      close();
    }
    // The TA record names the leaf's issuer, but the server sends no chain to it.
    const bare = await handshake({ key: issued.key, cert: issued.leaf });
    try {
      expect(verifyDane(bare.socket, [rec(2, 0, 1, ca.cert)], ['mx.dane.test']).ok).toBe(false);
    } finally {
      bare.close();
    }
  });
});
