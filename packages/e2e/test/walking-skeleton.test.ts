// The walking skeleton, end to end: intake, filter and pop3 as real processes
// on a real Redis; a message sent with a real SMTP client is read back over
// POP3 with curl, byte for byte.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Directory } from '@postamt/directory';
import { connectRedis, type Redis } from '@postamt/queue';
import {
  type ClamdServer,
  freePort,
  makeTempDir,
  type RedisServer,
  type ServiceProcess,
  type SpamdServer,
  startClamd,
  startRedis,
  startService,
  startSpamd,
  waitFor,
} from '@postamt/testkit';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

let redisServer: RedisServer;
let redis: Redis;
let clamd: ClamdServer;
let spamd: SpamdServer;
const services: ServiceProcess[] = [];
let smtpPort: number;
let pop3Port: number;

beforeAll(async () => {
  [redisServer, clamd, spamd] = await Promise.all([startRedis(), startClamd(), startSpamd()]);
  redis = connectRedis(redisServer.url, 'worker');
  const directory = new Directory(redis);
  await directory.addDomain('example.test');
  await directory.putUser({ address: 'alice@example.test', password: 'alice-secret' });
  const data = makeTempDir('e2e');
  const logDir = makeTempDir('e2e-logs');
  process.stderr.write(`e2e service logs: ${logDir}\n`);
  smtpPort = await freePort();
  pop3Port = await freePort();
  const common = {
    POSTAMT_DATA: data,
    POSTAMT_REDIS_URL: redisServer.url,
    POSTAMT_HOSTNAME: 'mx.postamt.test',
    POSTAMT_CLAMD: clamd.address,
    POSTAMT_SPAMD: spamd.address,
  };
  services.push(
    ...(await Promise.all([
      // The test client connects from loopback without DNS records: trust it for the DNS-based checks.
      startService(
        'intake',
        {
          ...common,
          POSTAMT_SMTP_PORT: String(smtpPort),
          POSTAMT_MYNETWORKS: '127.0.0.0/8',
        },
        { logDir },
      ),
      startService('filter', common, { logDir }),
      startService(
        'pop3',
        {
          ...common,
          POSTAMT_POP3_PORT: String(pop3Port),
          POSTAMT_POP3S_PORT: String(await freePort()),
        },
        { logDir },
      ),
    ])),
  );
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  redis.disconnect();
  await Promise.all([redisServer.stop(), clamd.stop(), spamd.stop()]);
});

async function smtpSend(from: string, to: string, body: Buffer): Promise<string> {
  const conn = new SMTPConnection({
    port: smtpPort,
    host: '127.0.0.1',
    name: 'client.example.org',
    ignoreTLS: true,
  });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  try {
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send({ from, to: [to] }, body, (err, i) =>
        err ? reject(err) : resolve(i as { response: string }),
      ),
    );
    return info.response;
  } finally {
    conn.quit();
  }
}

async function pop3(args: string[]): Promise<Buffer> {
  const { stdout } = await run(
    'curl',
    ['-s', '--max-time', '10', '-u', 'alice@example.test:alice-secret', ...args],
    {
      encoding: 'buffer',
      maxBuffer: 10 * 1024 * 1024,
    },
  );
  return stdout;
}

describe('walking skeleton', () => {
  it('a message sent over SMTP is read back over POP3 byte for byte', async () => {
    const body = Buffer.from(
      [
        'From: Bob <bob@example.org>',
        'To: Alice <alice@example.test>',
        'Subject: end to end',
        'Message-ID: <e2e-1@example.org>',
        '',
        'Hello Alice,',
        '.a line that starts with a dot',
        '',
        'Bye.',
        '',
      ].join('\r\n'),
    );
    const reply = await smtpSend('bob@example.org', 'alice@example.test', body);
    const id = /queued as ([0-9A-Z]{26})/.exec(reply)?.[1];
    expect(id).toBeDefined();

    await waitFor(
      'delivery',
      async () => (await pop3([`pop3://127.0.0.1:${pop3Port}/`])).toString().trim().length > 0,
    );
    const list = (await pop3([`pop3://127.0.0.1:${pop3Port}/`])).toString();
    expect(list.trim().split('\r\n')).toHaveLength(1);
    const message = await pop3([`pop3://127.0.0.1:${pop3Port}/1`]);
    const text = message.toString('latin1');
    // The filter adds its verdict headers, intake exactly one Received header;
    // after those come the sent bytes, unchanged.
    const [head = ''] = text.split('\r\n\r\n');
    expect(head).toMatch(/^X-Spam-Status: No, score=-?\d+\.\d+/m);
    expect(head).toMatch(/^X-Virus-Scanned: /m);
    expect(text.match(/^Received: /gm)).toHaveLength(1);
    expect(text).toMatch(
      new RegExp(
        `\r\nReceived: from client\\.example\\.org \\(unknown \\[127\\.0\\.0\\.1\\]\\)\r\n\tby mx\\.postamt\\.test \\(Postamt\\) with ESMTP id ${id}\r\n`,
      ),
    );
    const afterReceived = message.subarray(text.indexOf('From: Bob'));
    expect(afterReceived.equals(body)).toBe(true);
  });
});
