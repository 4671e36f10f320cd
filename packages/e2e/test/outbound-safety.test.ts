// The security cases of issue 11 that need the whole chain (intake, filter,
// relay) and a hostile outside world:
//   - header injection through data an attacker controls that ends up in
//     mail we generate: a banned attachment's name and an encoded Subject in
//     the quarantine notice, a remote server's multi-line reply in the DSN;
//   - MX records pointing at internal addresses (our own loopback, a LAN
//     address, the cloud metadata address): never connected to, bounced.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type ServiceProcess, waitFor } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_DOMAIN, HOSTILE_REPLY, type RemoteMx, startRemoteMx } from './helpers/remote-mx.js';
import { sendMail } from './helpers/smtp-client.js';
import { intakeEnv, type Stack, startStack, USERS } from './helpers/stack.js';

let stack: Stack;
let remote: RemoteMx;
let mxPort: number;
let submissionPort: number;
const services: ServiceProcess[] = [];
const alice = USERS[0];

beforeAll(async () => {
  stack = await startStack({ label: 'outbound-safety' });
  remote = await startRemoteMx(stack.logDir);
  // Internal targets: our own loopback (where intake listens), a LAN host,
  // the metadata service, and an IPv4-mapped IPv6 spelling of loopback.
  remote.dns.set('inside.test', [
    { type: 'MX', exchange: 'self.inside.test', priority: 10 },
    { type: 'MX', exchange: 'lan.inside.test', priority: 20 },
    { type: 'MX', exchange: 'meta.inside.test', priority: 30 },
    { type: 'MX', exchange: 'mapped.inside.test', priority: 40 },
  ]);
  remote.dns.host4('self.inside.test', '127.0.0.1');
  remote.dns.host4('lan.inside.test', '10.1.2.3');
  remote.dns.host4('meta.inside.test', '169.254.169.254');
  remote.dns.set('mapped.inside.test', [{ type: 'AAAA', address: '::ffff:7f00:1' }]);
  mxPort = await freePort();
  const env = await intakeEnv(mxPort);
  submissionPort = Number(env.POSTAMT_SUBMISSION_PORT);
  services.push(
    ...(await Promise.all([
      stack.start('intake', env),
      stack.start('filter', { POSTAMT_AUTH_CHECKS: 'false', POSTAMT_BANNED_EXTENSIONS: 'exe' }),
      stack.start('relay', {
        POSTAMT_DNS_SERVERS: remote.dns.address,
        POSTAMT_RELAY_SMTP_PORT: String(remote.port),
        // Only the hostile MX's address is reachable; every other private
        // address stays behind the guard as in production.
        POSTAMT_RELAY_TEST_ALLOW_NETWORKS: '127.0.0.10/32',
        POSTAMT_RELAY_RETRY_MIN: '300ms',
        POSTAMT_RELAY_RETRY_MAX: '1s',
        POSTAMT_RELAY_DNS_TIMEOUT: '2s',
      }),
    ])),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await stack?.stop();
  await remote?.stop();
});

/** Messages in a user's INBOX (new/ and cur/), as latin1 text. */
function inbox(address: string): string[] {
  const [local, domain] = address.split('@') as [string, string];
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    const dir = join(stack.data, 'mail', domain, local, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) out.push(readFileSync(join(dir, name), 'latin1'));
  }
  return out;
}

/** Header field names of a message's top header block, in order. */
function headerNames(message: string): string[] {
  const head = message.slice(0, message.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .filter((l) => !/^[ \t]/.test(l))
    .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
}

const encodedSubject = `=?utf-8?b?${Buffer.from('Invoice\r\nBcc: victim@evil.test\r\n\r\nfake body').toString('base64')}?=`;

/** Alice submits a message to `to` (AUTH over STARTTLS); resolves with the DSN that comes back to her. */
async function submitAndAwaitDsn(to: string, subject: string, token: string): Promise<string> {
  const body = [
    `From: <${alice.address}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    `X-E2E-Token: ${token}`,
    '',
    'hi',
    '',
  ];
  const sent = await sendMail({
    port: submissionPort,
    auth: { user: alice.address, pass: alice.password },
    from: alice.address,
    to: [to],
    body: Buffer.from(body.join('\r\n')),
  });
  expect(sent.kind).toBe('accepted');
  let dsn: string | undefined;
  await waitFor(
    `DSN for ${to}`,
    async () => {
      dsn = inbox(alice.address).find(
        (m) => /^Content-Type: multipart\/report/m.test(m) && m.includes(token),
      );
      return dsn !== undefined;
    },
    90_000,
  );
  return dsn as string;
}

describe('header injection through user-supplied data', () => {
  it('a quarantine notice keeps a hostile attachment name and Subject out of its header', async () => {
    const token = `notice-${Date.now()}`;
    const body = [
      'From: <sender@example.org>',
      `To: <${alice.address}>`,
      `Subject: ${encodedSubject}`,
      `X-E2E-Token: ${token}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'see attachment',
      '--b1',
      'Content-Type: application/octet-stream',
      // RFC 2231: the decoded name carries CR LF and a header of its own.
      "Content-Disposition: attachment; filename*=utf-8''x%0D%0ABcc%3A%20victim%40evil.test%0D%0A%0D%0Apayload.exe",
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('MZ not really a program').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const sent = await sendMail({
      port: mxPort,
      from: 'sender@example.org',
      to: [alice.address],
      body: Buffer.from(body),
    });
    expect(sent.kind).toBe('accepted');
    let notice: string | undefined;
    await waitFor(
      'quarantine notice',
      async () => {
        notice = inbox(alice.address).find(
          (m) => m.includes('quarantined') && m.includes(sent.kind === 'accepted' ? sent.id : '-'),
        );
        return notice !== undefined;
      },
      90_000,
    );
    const text = notice as string;
    // Delivery may put trace fields on top; the notice's own fields end the block, unchanged.
    const names = headerNames(text);
    expect(names.slice(-8)).toEqual([
      'from',
      'to',
      'subject',
      'date',
      'message-id',
      'auto-submitted',
      'mime-version',
      'content-type',
    ]);
    expect(names).not.toContain('bcc');
    expect(text).not.toMatch(/^Bcc:/im);
    expect(text).not.toMatch(/^fake body/m);
    // The reader still learns what was blocked, made harmless.
    expect(text).toMatch(/payload\.exe/);
    // The message itself went to quarantine, not to the mailbox.
    expect(inbox(alice.address).some((m) => m.includes(`X-E2E-Token: ${token}`))).toBe(false);
  });

  it("a DSN quotes a hostile server's multi-line reply without letting its lines become fields", async () => {
    const token = `dsn-${Date.now()}`;
    const text = await submitAndAwaitDsn(`victim@${HOSTILE_DOMAIN}`, encodedSubject, token);
    expect(headerNames(text)).not.toContain('bcc');
    expect(text).not.toMatch(/^Bcc:/im);
    const status = /Content-Type: message\/delivery-status\r\n\r\n([\s\S]*?)\r\n--/.exec(text)?.[1] ?? '';
    const fields = status
      .split('\r\n')
      .filter((l) => l && !/^[ \t]/.test(l))
      .map((l) => l.slice(0, l.indexOf(':')));
    // One recipient block: each field once, none of the reply's fake ones added.
    expect(fields.filter((f) => f === 'Final-Recipient')).toHaveLength(1);
    expect(fields.filter((f) => f === 'Action')).toHaveLength(1);
    expect(fields).not.toContain('Bcc');
    expect(fields).not.toContain('Content-Type');
    expect(status).toMatch(/^Final-Recipient: rfc822; victim@liar\.test$/m);
    expect(status).toMatch(/^Action: failed$/m);
    // The reply's text is there, on the Diagnostic-Code line.
    const diagnostic = /^Diagnostic-Code: (.*(?:\r\n[ \t].*)*)/m.exec(status)?.[1] ?? '';
    for (const line of HOSTILE_REPLY) expect(diagnostic).toContain(line.slice(4));
  });
});

describe('MX records pointing at internal addresses', () => {
  it('are never connected to: the message bounces naming each refused address', async () => {
    const token = `inside-${Date.now()}`;
    const text = await submitAndAwaitDsn('admin@inside.test', 'hi', token);
    expect(text).toMatch(/^Action: failed$/m);
    expect(text).toMatch(/^Status: 5\.4\.4$/m);
    for (const ip of ['127.0.0.1', '10.1.2.3', '169.254.169.254']) expect(text).toContain(`[${ip}]`);
    expect(text).toMatch(/mapped\.inside\.test \[::ffff:(7f00:1|127\.0\.0\.1)\]/);
    // Nothing came back any other way (one copy: the DSN's returned headers).
    expect(inbox(alice.address).filter((m) => m.includes(`X-E2E-Token: ${token}`))).toHaveLength(1);
  });
});
