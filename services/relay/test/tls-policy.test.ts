// MTA-STS (RFC 8461) and DANE (RFC 7672) with the relay as a real process.
// The test DNS server publishes the MX hosts, `_mta-sts` TXT records and TLSA
// records, and marks DNSSEC-signed names with the AD bit (the relay is told to
// trust it, as it would a local validating resolver). Policies are served over
// HTTPS on a loopback address with a certificate from a test CA the relay
// trusts; the policy host names resolve to loopback, which the relay may reach
// only because the test opens 127.0.0.0/8 in its SSRF guard. Three test MX
// servers: one with a CA-issued certificate (sent with its chain), one with a
// self-signed certificate, one without STARTTLS.
import { createServer as createHttps, type Server } from 'node:https';
import type { Queues, Spool } from '@postamt/queue';
import { freePort, makeTempDir, type TestDnsServer, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDsns, relayMessage, selfSignedCert } from './support/fixtures.js';
import { startCa, tlsaData } from './support/pki.js';
import { type RelayEnv, startRelayEnv } from './support/relay-env.js';
import { type Sink, startSink } from './support/smtp-sink.js';

let env: RelayEnv;
let dns: TestDnsServer;
let queues: Queues;
let spool: Spool;
let https: Server;
let caSink: Sink;
let selfSink: Sink;
let plainSink: Sink;
let mxPort: number;
const policies = new Map<string, string>();
const policyFetches = new Map<string, number>();

const gone = async (id: string) => !(await spool.exists(id));
const delivered = (sink: Sink, subject: string) =>
  sink.messages.filter((m) => m.data.includes(`Subject: ${subject}\r\n`));
const allSinks = () => [caSink, selfSink, plainSink];

function sts(domain: string, mode: string, mxPatterns: string[], id = 'v1') {
  dns.set(`_mta-sts.${domain}`, [{ type: 'TXT', text: `v=STSv1; id=${id}` }]);
  dns.set(`mta-sts.${domain}`, [{ type: 'A', address: '127.0.1.9' }]);
  policies.set(
    `mta-sts.${domain}`,
    ['version: STSv1', `mode: ${mode}`, ...mxPatterns.map((p) => `mx: ${p}`), 'max_age: 86400', ''].join(
      '\r\n',
    ),
  );
}

function tlsa(
  domain: string,
  records: { usage: number; selector: number; matchingType: number; data: Buffer }[],
  secure = true,
) {
  const name = `_${mxPort}._tcp.mx.${domain}`;
  dns.set(
    name,
    records.map((r) => ({ type: 'TLSA' as const, ...r })),
  );
  if (secure) dns.secure(name);
}

let caCert = '';
let selfCert = '';

beforeAll(async () => {
  env = await startRelayEnv('relay-tls');
  ({ dns, queues, spool, port: mxPort } = env);
  const mx = env.mx;
  const pkiDir = makeTempDir('relay-pki');
  const ca = startCa(pkiDir);
  caCert = ca.cert;
  const caIssued = ca.issue([
    'mx.sts-ok.test',
    'mx.sts-plain.test',
    'mx.dane-ta.test',
    'mx.dane-bad.test',
    'host.dane-target.test',
  ]);
  const self = selfSignedCert(makeTempDir('relay-self'), 'mx.sts-bad.test');
  selfCert = self.cert;
  caSink = await startSink({
    host: '127.0.1.1',
    port: mxPort,
    tls: { key: caIssued.key, cert: caIssued.cert },
  });
  selfSink = await startSink({ host: '127.0.1.2', port: mxPort, tls: self });
  plainSink = await startSink({ host: '127.0.1.3', port: mxPort });

  const httpsPort = await freePort();
  const policyCert = ca.issue(
    [...'sts-ok sts-nomatch sts-plain sts-bad sts-testing dane-over-sts'.split(' ')].map(
      (d) => `mta-sts.${d}.test`,
    ),
  );
  https = createHttps({ key: policyCert.key, cert: policyCert.cert }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    policyFetches.set(host, (policyFetches.get(host) ?? 0) + 1);
    const body = policies.get(host);
    if (!body || req.url !== '/.well-known/mta-sts.txt') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => https.listen(httpsPort, '127.0.1.9', resolve));
  const caFile = `${pkiDir}/ca.pem`;

  mx('sts-ok.test', '127.0.1.1');
  sts('sts-ok.test', 'enforce', ['mx.sts-ok.test']);
  mx('sts-nomatch.test', '127.0.1.1');
  sts('sts-nomatch.test', 'enforce', ['*.elsewhere.test']);
  mx('sts-plain.test', '127.0.1.3');
  sts('sts-plain.test', 'enforce', ['mx.sts-plain.test']);
  mx('sts-bad.test', '127.0.1.2');
  sts('sts-bad.test', 'enforce', ['mx.sts-bad.test']);
  mx('sts-testing.test', '127.0.1.2');
  sts('sts-testing.test', 'testing', ['mx.elsewhere.test']);

  mx('dane-ee.test', '127.0.1.2', { secure: true });
  tlsa('dane-ee.test', [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData(selfCert, 1, 1) }]);
  // Signed answers too big for a datagram: UDP says TC, the full answer comes over TCP.
  mx('dane-tcp.test', '127.0.1.2', { secure: true });
  tlsa('dane-tcp.test', [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData(selfCert, 1, 1) }]);
  dns.truncate('dane-tcp.test');
  dns.truncate(`_${mxPort}._tcp.mx.dane-tcp.test`);
  mx('dane-ta.test', '127.0.1.1', { secure: true });
  tlsa('dane-ta.test', [{ usage: 2, selector: 0, matchingType: 1, data: tlsaData(caCert, 0, 1) }]);
  mx('dane-bad.test', '127.0.1.1', { secure: true });
  tlsa('dane-bad.test', [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }]);
  mx('dane-plain.test', '127.0.1.3', { secure: true });
  tlsa('dane-plain.test', [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }]);
  mx('dane-over-sts.test', '127.0.1.2', { secure: true });
  tlsa('dane-over-sts.test', [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData(selfCert, 1, 1) }]);
  sts('dane-over-sts.test', 'enforce', ['mx.elsewhere.test']);
  // Secure MX and TLSA, but the MX host's address is not secure: no DANE (RFC 7672 §2.2.2).
  mx('dane-addr.test', '127.0.1.3');
  dns.secure('dane-addr.test');
  tlsa('dane-addr.test', [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }]);
  // No MX at all: the domain is its own MX host, and its TLSA records count (RFC 7672 §2.2.1).
  dns.host4('dane-nomx.test', '127.0.1.2');
  dns.secure('dane-nomx.test');
  dns.set(`_${mxPort}._tcp.dane-nomx.test`, [
    { type: 'TLSA', usage: 3, selector: 1, matchingType: 1, data: tlsaData(selfCert, 1, 1) },
  ]);
  dns.secure(`_${mxPort}._tcp.dane-nomx.test`);
  // MX hosts that are aliases (RFC 7672 §2.2.2). TLSA at the CNAME target, whose name only the
  // certificate carries:
  mx('dane-cname.test', '127.0.1.1', { secure: true });
  dns.set('mx.dane-cname.test', [{ type: 'CNAME', name: 'host.dane-target.test' }]);
  dns.host4('host.dane-target.test', '127.0.1.1');
  dns.secure('host.dane-target.test');
  dns.set(`_${mxPort}._tcp.host.dane-target.test`, [
    { type: 'TLSA', usage: 2, selector: 0, matchingType: 1, data: tlsaData(caCert, 0, 1) },
  ]);
  dns.secure(`_${mxPort}._tcp.host.dane-target.test`);
  // …and TLSA only at the alias itself: the target securely has none, so the alias's records apply.
  mx('dane-alias-own.test', '127.0.1.2', { secure: true });
  dns.set('mx.dane-alias-own.test', [{ type: 'CNAME', name: 'host.dane-target2.test' }]);
  dns.host4('host.dane-target2.test', '127.0.1.2');
  dns.secure('host.dane-target2.test');
  dns.secure(`_${mxPort}._tcp.host.dane-target2.test`);
  tlsa('dane-alias-own.test', [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData(selfCert, 1, 1) }]);
  // TLSA records that do not match, but the answer is not DNSSEC-secure: ignored.
  mx('dane-insecure.test', '127.0.1.3', { secure: true });
  tlsa('dane-insecure.test', [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }], false);

  await env.startRelay({
    POSTAMT_RELAY_TLS_CA_FILE: caFile,
    POSTAMT_RELAY_MTA_STS_PORT: String(httpsPort),
    POSTAMT_RELAY_DNSSEC_TRUST_AD: 'true',
    POSTAMT_RELAY_RETRY_MIN: '300ms',
    POSTAMT_RELAY_RETRY_MAX: '1s',
    POSTAMT_RELAY_MAX_LIFETIME: '3s',
    POSTAMT_RELAY_CONNECT_TIMEOUT: '2s',
    POSTAMT_RELAY_DNS_TIMEOUT: '2s',
  });
});

afterAll(async () => {
  for (const s of allSinks()) await s?.close();
  await new Promise((r) => (https ? https.close(r) : r(null)));
  await env?.stop();
});

/** Sends one message with NOTIFY=SUCCESS,FAILURE and waits until it is finished (sent or bounced). */
async function send(to: string, subject: string): Promise<{ id: string; dsn: string }> {
  const id = await relayMessage(spool, queues, [{ address: to, notify: ['SUCCESS', 'FAILURE'] }], subject);
  await waitFor(`${subject} finished`, () => gone(id), 30_000);
  const [dsn] = await findDsns(spool, id);
  return { id, dsn: dsn?.text ?? '' };
}

describe('MTA-STS', () => {
  it('enforce: delivers to a listed MX over TLS with a CA-valid certificate; the policy is fetched once and cached', async () => {
    const { dsn } = await send('a@sts-ok.test', 'sts ok');
    expect(delivered(caSink, 'sts ok')).toHaveLength(1);
    expect(delivered(caSink, 'sts ok')[0]?.tls).toBe(true);
    // No DSN at the sink: our "relayed" report carries what was verified.
    expect(dsn).toMatch(/Action: relayed/);
    expect(dsn).toMatch(/X-Postamt-Remote-Checks: .*mta-sts=enforce\(mx-match\) tls=TLS\S+ cert=pkix/);
    await send('b@sts-ok.test', 'sts ok again');
    expect(delivered(caSink, 'sts ok again')).toHaveLength(1);
    expect(policyFetches.get('mta-sts.sts-ok.test')).toBe(1);
  });

  it('enforce: an MX the policy does not list is never used; the bounce says why', async () => {
    const { dsn } = await send('a@sts-nomatch.test', 'sts nomatch');
    for (const s of allSinks()) expect(delivered(s, 'sts nomatch')).toHaveLength(0);
    expect(dsn).toMatch(/Action: failed\r\nStatus: 4\.7\.5/);
    expect(dsn).toMatch(/not allowed by the MTA-STS policy of sts-nomatch\.test/);
    expect(dsn).toMatch(/X-Postamt-Remote-Checks: mta-sts=enforce\(mx-mismatch\)/);
  });

  it('enforce: no STARTTLS or a certificate not valid under our CAs → deferred, never sent in clear', async () => {
    const [plain, bad] = await Promise.all([
      send('a@sts-plain.test', 'sts plain'),
      send('a@sts-bad.test', 'sts badcert'),
    ]);
    expect(delivered(plainSink, 'sts plain')).toHaveLength(0);
    expect(delivered(selfSink, 'sts badcert')).toHaveLength(0);
    for (const r of [plain, bad]) {
      expect(r.dsn).toMatch(/Action: failed\r\nStatus: 4\.7\.5/);
      expect(r.dsn).toMatch(/X-Postamt-Remote-Checks: .*mta-sts=enforce\(mx-match\)/);
    }
  });

  it('testing: failures are only reported; the message goes out over opportunistic TLS', async () => {
    const { dsn } = await send('a@sts-testing.test', 'sts testing');
    expect(delivered(selfSink, 'sts testing')).toHaveLength(1);
    expect(dsn).toMatch(/Action: relayed/);
    expect(dsn).toMatch(
      /X-Postamt-Remote-Checks: .*mta-sts=testing\(mx-mismatch\) tls=TLS\S+ cert=unverified/,
    );
  });
});

describe('DANE', () => {
  it('DANE-EE (3 1 1): a self-signed certificate whose key matches the secure TLSA record is accepted', async () => {
    const { dsn } = await send('a@dane-ee.test', 'dane ee');
    expect(delivered(selfSink, 'dane ee')).toHaveLength(1);
    expect(dsn).toMatch(
      /X-Postamt-Remote-Checks: .*dane=1-usable-tlsa mta-sts=skipped\(dane\) tls=TLS\S+ cert=dane\(dane-ee\/3\/1\/1\)/,
    );
  });

  it('a truncated UDP answer is asked again over TCP, and its TLSA records still apply', async () => {
    const { dsn } = await send('a@dane-tcp.test', 'dane tcp');
    expect(delivered(selfSink, 'dane tcp')).toHaveLength(1);
    expect(dsn).toMatch(/cert=dane\(dane-ee\/3\/1\/1\)/);
    expect(dns.tcpQueries).toContain(`TLSA _${mxPort}._tcp.mx.dane-tcp.test`);
  });

  it('DANE-TA (2 0 1): the chain leads to the trust anchor in TLSA and the leaf names the MX', async () => {
    const { dsn } = await send('a@dane-ta.test', 'dane ta');
    expect(delivered(caSink, 'dane ta')).toHaveLength(1);
    expect(dsn).toMatch(/cert=dane\(dane-ta\/2\/0\/1\)/);
  });

  it('a certificate matching no TLSA record, or no STARTTLS, defers: nothing is sent', async () => {
    const [bad, plain] = await Promise.all([
      send('a@dane-bad.test', 'dane mismatch'),
      send('a@dane-plain.test', 'dane plain'),
    ]);
    expect(delivered(caSink, 'dane mismatch')).toHaveLength(0);
    expect(delivered(plainSink, 'dane plain')).toHaveLength(0);
    expect(bad.dsn).toMatch(/Status: 4\.7\.5/);
    expect(bad.dsn).toMatch(/DANE authentication of mx\.dane-bad\.test failed: no TLSA record matches/);
    expect(plain.dsn).toMatch(/Status: 4\.7\.5/);
    expect(plain.dsn).toMatch(/X-Postamt-Remote-Checks: .*dane=1-usable-tlsa/);
  });

  it('DANE wins over MTA-STS: an MX the STS policy does not list is used when TLSA authenticates it', async () => {
    const { dsn } = await send('a@dane-over-sts.test', 'dane over sts');
    expect(delivered(selfSink, 'dane over sts')).toHaveLength(1);
    expect(dsn).toMatch(/mta-sts=skipped\(dane\)/);
  });

  it('an MX host whose address is not DNSSEC-secure gets no TLSA lookup', async () => {
    const { dsn } = await send('a@dane-addr.test', 'dane address insecure');
    expect(delivered(plainSink, 'dane address insecure')).toHaveLength(1);
    expect(dsn).toMatch(/X-Postamt-Remote-Checks: .*dane=insecure-address mta-sts=none tls=none/);
    expect(dns.queries).not.toContain(`TLSA _${mxPort}._tcp.mx.dane-addr.test`);
  });

  it('a domain without MX is its own host: its secure TLSA records apply', async () => {
    const { dsn } = await send('a@dane-nomx.test', 'dane no mx');
    expect(delivered(selfSink, 'dane no mx')).toHaveLength(1);
    expect(dsn).toMatch(/cert=dane\(dane-ee\/3\/1\/1\)/);
  });

  it('an MX host that is an alias: TLSA at the CNAME target first, and the target name satisfies DANE-TA', async () => {
    const { dsn } = await send('a@dane-cname.test', 'dane cname');
    expect(delivered(caSink, 'dane cname')).toHaveLength(1);
    expect(dsn).toMatch(/dane=1-usable-tlsa@host\.dane-target\.test/);
    expect(dsn).toMatch(/cert=dane\(dane-ta\/2\/0\/1\)/);
    expect(dns.queries).not.toContain(`TLSA _${mxPort}._tcp.mx.dane-cname.test`);
  });

  it('an alias whose target securely has no TLSA: the alias’s own records apply', async () => {
    const { dsn } = await send('a@dane-alias-own.test', 'dane alias own');
    expect(delivered(selfSink, 'dane alias own')).toHaveLength(1);
    expect(dsn).toMatch(/dane=1-usable-tlsa mta-sts=skipped\(dane\)/);
    expect(dsn).toMatch(/cert=dane\(dane-ee\/3\/1\/1\)/);
    const target = dns.queries.indexOf(`TLSA _${mxPort}._tcp.host.dane-target2.test`);
    expect(target).toBeGreaterThanOrEqual(0);
    expect(dns.queries.indexOf(`TLSA _${mxPort}._tcp.mx.dane-alias-own.test`)).toBeGreaterThan(target);
  });

  it('TLSA records without DNSSEC (no AD bit) are ignored', async () => {
    const { dsn } = await send('a@dane-insecure.test', 'dane insecure');
    expect(delivered(plainSink, 'dane insecure')).toHaveLength(1);
    expect(dsn).toMatch(/X-Postamt-Remote-Checks: .*dane=insecure mta-sts=none tls=none/);
  });
});
