// Submission end to end: intake (587), filter and relay as real processes on
// real Redis, clamd and spamd; the test DNS server publishes the remote
// domain's MX and our DKIM key; a test SMTP server is the remote MX. A clean
// submitted message arrives there DKIM-signed (verified with mailauth); an
// infected one goes nowhere and the sender finds a bounce in their INBOX.
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Directory } from '@postamt/directory';
import { connectRedis, type Redis } from '@postamt/queue';
import {
  type ClamdServer,
  EICAR,
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  type SpamdServer,
  startClamd,
  startDnsServer,
  startRedis,
  startService,
  startSpamd,
  type TestDnsServer,
  waitFor,
} from '@postamt/testkit';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sink, startSink } from './support/smtp-sink.js';

let redisServer: RedisServer;
let redis: Redis;
let clamd: ClamdServer;
let spamd: SpamdServer;
let dns: TestDnsServer;
let sink: Sink;
let data: string;
let port587: number;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  [redisServer, clamd, spamd, dns] = await Promise.all([
    startRedis(),
    startClamd(),
    startSpamd(),
    startDnsServer(),
  ]);
  redis = connectRedis(redisServer.url, 'worker');
  redis.on('error', () => {});
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'alice-secret' });
  // The admin service's key format (services/admin/src/dkim.ts).
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await redis.hset(
    'postamt:dkim:example.test',
    'current',
    JSON.stringify({
      selector: 's1',
      algorithm: 'rsa-2048',
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: '',
      createdAt: new Date().toISOString(),
    }),
  );
  const p = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const txt = `v=DKIM1; k=rsa; p=${p}`;
  dns.set('s1._domainkey.example.test', [{ type: 'TXT', text: txt.match(/.{1,255}/g) ?? [txt] }]);
  const mxPort = await freePort();
  dns.set('remote.example', [{ type: 'MX', exchange: 'mx.remote.example', priority: 10 }]);
  dns.host4('mx.remote.example', '127.0.0.6');
  sink = await startSink({ host: '127.0.0.6', port: mxPort, dsn: true });

  data = makeTempDir('chain');
  const logDir = makeTempDir('chain-logs');
  port587 = await freePort();
  const common = {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    POSTAMT_CLAMD: clamd.address,
    POSTAMT_SPAMD: spamd.address,
    POSTAMT_DNS_SERVERS: dns.address,
  };
  services.push(
    ...(await Promise.all([
      startService(
        'intake',
        {
          ...common,
          POSTAMT_SMTP_PORT: String(await freePort()),
          POSTAMT_SUBMISSION_PORT: String(port587),
          POSTAMT_SUBMISSIONS_PORT: 'off',
        },
        { logDir },
      ),
      startService('filter', common, { logDir }),
      startService(
        'relay',
        {
          ...common,
          POSTAMT_RELAY_SMTP_PORT: String(mxPort),
          POSTAMT_RELAY_TEST_ALLOW_NETWORKS: '127.0.0.0/8',
          POSTAMT_RELAY_MTA_STS: 'false',
        },
        { logDir },
      ),
    ])),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await sink?.close();
  redis?.disconnect();
  await Promise.all([redisServer?.stop(), clamd?.stop(), spamd?.stop(), dns?.stop()]);
});

interface SubmitDsn {
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  notify?: string[];
  orcpt?: string;
}

async function submit(to: string[], body: string, dsn?: SubmitDsn): Promise<string> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port: port587,
    requireTLS: true,
    name: 'client.example.org',
    tls: { rejectUnauthorized: false },
  });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  try {
    await new Promise<void>((resolve, reject) =>
      conn.login({ user: 'alice@example.test', pass: 'alice-secret' }, (e) => (e ? reject(e) : resolve())),
    );
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send({ from: 'alice@example.test', to, ...(dsn ? { dsn } : {}) }, body, (e, i) =>
        e ? reject(e) : resolve(i as { response: string }),
      ),
    );
    return info.response;
  } finally {
    conn.quit();
  }
}

function message(subject: string, text: string): string {
  return [
    'From: Alice <alice@example.test>',
    'To: Bob <bob@remote.example>',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@example.test>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    text,
    '',
  ].join('\r\n');
}

function inbox(user: string): string[] {
  const dir = join(data, 'mail/example.test', user, 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')) : [];
}

describe('submission through filter and relay', () => {
  it('a clean message reaches the remote MX with a DKIM signature mailauth verifies', async () => {
    const reply = await submit(
      ['bob@remote.example'],
      message('Lunch on Friday', 'Hi Bob, shall we meet for lunch on Friday at noon? Alice'),
    );
    expect(reply).toMatch(/^250 2\.0\.0 Ok: queued as /);
    await waitFor('delivered to the remote MX', async () => sink.messages.length > 0, 60_000);
    const got = sink.messages[0];
    expect(got?.mailFrom).toBe('alice@example.test');
    expect(got?.rcptTo).toEqual(['bob@remote.example']);
    expect(got?.data).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
    expect(got?.data).toMatch(/with ESMTPSA id /);
    const resolver = new Resolver();
    resolver.setServers([dns.address]);
    const v = await dkimVerify(Buffer.from(got?.data ?? ''), {
      resolver: ((name: string, type: string) => resolver.resolve(name, type as 'TXT')) as never,
    });
    expect(v.results.map((r) => `${r.signingDomain} ${r.status.result}`)).toEqual(['example.test pass']);
  });

  it('DSN parameters given at submission reach the next hop (intake → spool → filter → relay)', async () => {
    await submit(['carol@remote.example'], message('With DSN', 'Tell me when it arrives. Alice'), {
      ret: 'HDRS',
      envid: 'SUBMIT-7',
      notify: ['SUCCESS', 'FAILURE'],
      orcpt: 'rfc822;carol@remote.example',
    });
    await waitFor(
      'delivered to the remote MX',
      async () => sink.messages.some((m) => m.data.includes('Subject: With DSN')),
      60_000,
    );
    const got = sink.messages.find((m) => m.data.includes('Subject: With DSN'));
    expect(got?.mailLine).toMatch(/ RET=HDRS ENVID=SUBMIT-7$/);
    expect(got?.rcptLines).toEqual([
      'RCPT TO:<carol@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol@remote.example',
    ]);
  });

  it('an infected message is not relayed; the sender gets a bounce in their INBOX', async () => {
    const before = sink.messages.length;
    const reply = await submit(['bob@remote.example'], message('Infected', EICAR));
    const id = /queued as ([0-9A-Z]{26})/.exec(reply)?.[1] as string;
    expect(id).toBeDefined();
    await waitFor('bounce in the INBOX', async () => inbox('alice').length > 0, 60_000);
    const [bounce = ''] = inbox('alice');
    expect(bounce).toContain('Subject: Message not sent: refused by the content filter');
    expect(bounce).toContain('Your message was NOT sent: it contains a virus');
    expect(bounce).toMatch(
      /Final-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\nStatus: 5\.7\.1/,
    );
    expect(bounce).toContain(`X-Postamt-Queue-ID: ${id}`);
    expect(bounce).not.toContain('EICAR-STANDARD-ANTIVIRUS-TEST-FILE');
    expect(existsSync(join(data, 'quarantine', `${id}.json`))).toBe(true);
    // Give a wrongly queued relay job time to show up at the sink.
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.messages.length).toBe(before);
    expect(await redis.exists(`bull:relay:${id}`)).toBe(0);
  });
});
