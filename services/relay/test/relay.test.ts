// The relay as a real process against real Redis, the test DNS server and test
// SMTP servers on loopback addresses (127.0.0.x, all on one port, which the
// relay uses as its MX port). The SSRF guard is opened for 127.0.0.0/8 only,
// so MX hosts on other private ranges are still refused.
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Queues, Redis, Spool } from '@postamt/queue';
import { makeTempDir, type TestDnsServer, waitFor } from '@postamt/testkit';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDsns, relayMessage, selfSignedCert } from './support/fixtures.js';
import { type RelayEnv, startRelayEnv } from './support/relay-env.js';
import { type Sink, startSink } from './support/smtp-sink.js';

let env: RelayEnv;
let dns: TestDnsServer;
let producer: Redis;
let queues: Queues;
let spool: Spool;
let port: number;
const sinks: Sink[] = [];
let tlsSink: Sink;
let backupSink: Sink;
let lastResortSink: Sink;
const seen = new Map<string, number>();

const gone = async (id: string) => !(await spool.exists(id));

beforeAll(async () => {
  env = await startRelayEnv('relay-data');
  ({ dns, producer, queues, spool, port } = env);
  const cert = selfSignedCert(makeTempDir('relay-cert'), 'mx.d1.test');
  tlsSink = await startSink({
    host: '127.0.0.2',
    port,
    tls: cert,
    rcpt: (addr) => {
      const n = (seen.get(addr) ?? 0) + 1;
      seen.set(addr, n);
      if (addr.startsWith('bad')) return `550 5.1.1 <${addr}>: Recipient address rejected: User unknown`;
      if (addr.startsWith('never')) return '451 4.2.0 try again later';
      if (addr.startsWith('later') && n === 1) return '451 4.7.1 greylisted, try again later';
      return '250 2.1.5 Ok';
    },
  });
  backupSink = await startSink({ host: '127.0.0.4', port });
  lastResortSink = await startSink({ host: '127.0.0.5', port });
  sinks.push(tlsSink, backupSink, lastResortSink);

  env.mx('d1.test', '127.0.0.2');
  dns.set('d2.test', [
    { type: 'MX', exchange: 'mxc.d2.test', priority: 30 },
    { type: 'MX', exchange: 'mxb.d2.test', priority: 20 },
    { type: 'MX', exchange: 'mxa.d2.test', priority: 10 },
  ]);
  dns.host4('mxa.d2.test', '127.0.0.3'); // nothing listens there
  dns.host4('mxb.d2.test', '127.0.0.4');
  dns.host4('mxc.d2.test', '127.0.0.5');
  dns.host4('d2b.test', '127.0.0.4'); // no MX: the A record is the implicit MX
  dns.set('d3.test', [{ type: 'MX', exchange: '.', priority: 0 }]);
  dns.set('d7.test', [
    { type: 'MX', exchange: 'mx.d7.test', priority: 10 },
    { type: 'MX', exchange: 'meta.d7.test', priority: 20 },
  ]);
  dns.host4('mx.d7.test', '10.1.2.3');
  dns.host4('meta.d7.test', '169.254.169.254');

  await env.startRelay({
    POSTAMT_RELAY_RETRY_MIN: '300ms',
    POSTAMT_RELAY_RETRY_MAX: '1s',
    POSTAMT_RELAY_MAX_LIFETIME: '5s',
    POSTAMT_RELAY_CONNECT_TIMEOUT: '2s',
    POSTAMT_RELAY_DNS_TIMEOUT: '2s',
    POSTAMT_RELAY_JOB_LOCK: '2s',
    // Keys are installed mid-run: no cached "no key".
    POSTAMT_RELAY_DKIM_CACHE: '0s',
  });
});

afterAll(async () => {
  for (const s of sinks) await s.close();
  await env?.stop();
});

describe('relay', () => {
  it('delivers all recipients of a domain in one session, over STARTTLS', async () => {
    const id = await relayMessage(spool, queues, ['bob@d1.test', 'carol@d1.test'], 'hello d1');
    await waitFor('spool file removed', () => gone(id), 15_000);
    const got = tlsSink.messages.filter((m) => m.data.includes('Subject: hello d1'));
    expect(got).toHaveLength(1);
    expect(got[0]?.rcptTo.sort()).toEqual(['bob@d1.test', 'carol@d1.test']);
    expect(got[0]?.mailFrom).toBe('alice@local.test');
    expect(got[0]?.tls).toBe(true);
    expect(got[0]?.helo).toBe('relay.postamt.test');
    expect(got[0]?.data).toContain('\r\n..a line starting with a dot\r\n');
    // The state is forgotten right after the spool file is removed (in that order: crash-safe).
    await waitFor(
      'relay state forgotten',
      async () => (await producer.exists(`relay:rcpt:${id}`, `relay:msg:${id}`)) === 0,
    );
    expect(await findDsns(spool, id)).toEqual([]);
  });

  it('follows MX preference, falls back to the next MX, and to A without MX', async () => {
    const id = await relayMessage(spool, queues, ['dave@d2.test', 'erin@d2b.test'], 'mx order');
    await waitFor('spool file removed', () => gone(id), 15_000);
    const atBackup = backupSink.messages.filter((m) => m.data.includes('Subject: mx order'));
    expect(atBackup.flatMap((m) => m.rcptTo).sort()).toEqual(['dave@d2.test', 'erin@d2b.test']);
    expect(lastResortSink.messages.filter((m) => m.data.includes('Subject: mx order'))).toHaveLength(0);
    expect(dns.queries).toContain('A mxa.d2.test');
  });

  it('bounces at once for a null MX domain (RFC 7505)', async () => {
    const id = await relayMessage(spool, queues, ['frank@d3.test'], 'null mx');
    await waitFor('spool file removed', () => gone(id), 15_000);
    const [dsn] = await findDsns(spool, id);
    expect(dsn?.text).toMatch(/Final-Recipient: rfc822; frank@d3.test/);
    expect(dsn?.text).toMatch(/Action: failed/);
    expect(dsn?.text).toMatch(/Status: 5\.1\.10/);
  });

  it('retries a 4xx and never re-sends to a recipient already accepted', async () => {
    const id = await relayMessage(spool, queues, ['grace@d1.test', 'later-heidi@d1.test'], 'retry 4xx');
    await waitFor('spool file removed', () => gone(id), 15_000);
    const got = tlsSink.messages.filter((m) => m.data.includes('Subject: retry 4xx'));
    expect(got.map((m) => m.rcptTo)).toEqual([['grace@d1.test'], ['later-heidi@d1.test']]);
    expect(seen.get('later-heidi@d1.test')).toBe(2);
    expect(seen.get('grace@d1.test')).toBe(1);
    expect(await findDsns(spool, id)).toEqual([]);
  });

  it('bounces a 5xx at once with an RFC 3464 DSN to the local sender', async () => {
    const id = await relayMessage(spool, queues, ['ivan@d1.test', 'bad-judy@d1.test'], '5xx bounce');
    await waitFor('spool file removed', () => gone(id), 15_000);
    expect(
      tlsSink.messages.filter((m) => m.data.includes('Subject: 5xx bounce')).map((m) => m.rcptTo),
    ).toEqual([['ivan@d1.test']]);
    const dsns = await findDsns(spool, id);
    expect(dsns).toHaveLength(1);
    const dsn = dsns[0];
    expect(dsn?.envelope.rcptTo).toEqual([{ address: 'alice@local.test' }]);
    expect(dsn?.envelope.source).toBe('internal');
    const text = dsn?.text ?? '';
    expect(text).toMatch(/^To: <alice@local.test>\r$/m);
    expect(text).toMatch(/Content-Type: multipart\/report; report-type=delivery-status;/);
    expect(text).toMatch(/Content-Type: message\/delivery-status/);
    expect(text).toMatch(/Reporting-MTA: dns; relay.postamt.test/);
    expect(text).toMatch(
      /Final-Recipient: rfc822; bad-judy@d1.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/,
    );
    expect(text).toMatch(/Remote-MTA: dns; mx.d1.test/);
    expect(text).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1 <bad-judy@d1.test>: Recipient address rejected/);
    expect(text).toMatch(/X-Postamt-Remote-Checks: fcrdns=pass\(mx.d1.test\) mta-sts=none tls=TLS/);
    expect(text).toMatch(
      /Content-Type: text\/rfc822-headers\r\n\r\nFrom: Alice <alice@local.test>[\s\S]*Subject: 5xx bounce/,
    );
    expect(text).not.toContain('Body of 5xx bounce');
    expect(text).not.toMatch(/Final-Recipient: rfc822; ivan@d1.test/);
    expect(await queues.has('filter', dsn?.id ?? '')).toBe(true);
  });

  it('honours NOTIFY=NEVER, RET=FULL and never bounces to <>', async () => {
    const quiet = await relayMessage(
      spool,
      queues,
      [{ address: 'bad-k@d1.test', notify: ['NEVER'] }],
      'notify never',
    );
    const full = await relayMessage(spool, queues, ['bad-l@d1.test'], 'ret full', { ret: 'FULL' });
    const nullSender = await relayMessage(spool, queues, ['bad-m@d1.test'], 'null sender', { from: '' });
    for (const id of [quiet, full, nullSender]) await waitFor('spool file removed', () => gone(id), 15_000);
    expect(await findDsns(spool, quiet)).toEqual([]);
    expect(await findDsns(spool, nullSender)).toEqual([]);
    const [dsn] = await findDsns(spool, full);
    expect(dsn?.text).toMatch(/Content-Type: message\/rfc822\r\n\r\nFrom: Alice[\s\S]*Body of ret full/);
  });

  it('bounces what is still deferred when the queue lifetime is over', async () => {
    const started = Date.now();
    const id = await relayMessage(spool, queues, ['never-ok@d1.test'], 'expiry');
    await waitFor('spool file removed', () => gone(id), 30_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
    expect(seen.get('never-ok@d1.test')).toBeGreaterThanOrEqual(3);
    const [dsn] = await findDsns(spool, id);
    expect(dsn?.text).toMatch(/Action: failed\r\nStatus: 4\.2\.0/);
    expect(dsn?.text).toMatch(/Diagnostic-Code: smtp; 451 4\.2\.0 try again later/);
  });

  it('refuses MX hosts on private and metadata addresses', async () => {
    const id = await relayMessage(spool, queues, ['nina@d7.test'], 'ssrf');
    await waitFor('spool file removed', () => gone(id), 15_000);
    const [dsn] = await findDsns(spool, id);
    expect(dsn?.text).toMatch(/Status: 5\.4\.4/);
    expect(dsn?.text).toContain('mx.d7.test [10.1.2.3]: non-public IPv4 address');
    expect(dsn?.text).toContain('meta.d7.test [169.254.169.254]: non-public IPv4 address');
  });

  it('refuses envelope fields that would inject commands', async () => {
    const id = await relayMessage(spool, queues, ['evil@d1.test>\r\nRCPT TO:<x@d1.test'], 'injection');
    await waitFor('spool file removed', () => gone(id), 15_000);
    expect(tlsSink.messages.filter((m) => m.data.includes('Subject: injection'))).toHaveLength(0);
    const [dsn] = await findDsns(spool, id);
    expect(dsn?.text).toMatch(/Status: 5\.1\.3/);
  });

  it("DKIM-signs submitted mail with the From domain's key (ed25519 and RSA); mailauth verifies it", async () => {
    // Keys as the admin service stores them (services/admin/src/dkim.ts), public keys in DNS.
    const ed = generateKeyPairSync('ed25519');
    const edSpki = ed.publicKey.export({ type: 'spki', format: 'der' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys = [
      {
        domain: 'local.test',
        selector: 'ed2025',
        algorithm: 'ed25519',
        privateKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        txt: `v=DKIM1; k=ed25519; p=${edSpki.subarray(edSpki.length - 32).toString('base64')}`,
      },
      {
        domain: 'rsa.test',
        selector: 'rsa2025',
        algorithm: 'rsa-2048',
        privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        txt: `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
      },
    ];
    for (const k of keys) {
      await producer.hset(
        `postamt:dkim:${k.domain}`,
        'current',
        JSON.stringify({ selector: k.selector, algorithm: k.algorithm, privateKey: k.privateKey }),
      );
      const txt = k.txt.match(/.{1,255}/g) ?? [k.txt];
      dns.set(`${k.selector}._domainkey.${k.domain}`, [{ type: 'TXT', text: txt }]);
    }
    const a = await relayMessage(spool, queues, ['dkim-a@d1.test'], 'dkim ed25519');
    const b = await relayMessage(spool, queues, ['dkim-b@d1.test'], 'dkim rsa', { from: 'bob@rsa.test' });
    for (const id of [a, b]) await waitFor('spool file removed', () => gone(id), 15_000);

    const resolver = new Resolver();
    resolver.setServers([dns.address]);
    const resolve = (name: string, type: string) => resolver.resolve(name, type as 'TXT');
    const results: string[] = [];
    for (const subject of ['dkim ed25519', 'dkim rsa']) {
      const [m] = tlsSink.messages.filter((x) => x.data.includes(`Subject: ${subject}`));
      expect(m?.data).toMatch(/^DKIM-Signature: v=1; a=(ed25519|rsa)-sha256; c=relaxed\/relaxed;/);
      const v = await dkimVerify(Buffer.from(m?.data ?? ''), { resolver: resolve as never });
      const r = v.results[0];
      results.push(`${r?.signingDomain} ${r?.algo} ${r?.status.result}`);
    }
    expect(results).toEqual(['local.test ed25519-sha256 pass', 'rsa.test rsa-sha256 pass']);
  });
});
