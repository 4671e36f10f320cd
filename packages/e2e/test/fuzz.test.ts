// Hostile input: a seeded random mutator over recorded SMTP, POP3 and IMAP
// sessions and over the MIME corpus, sent to the real servers for a bounded
// time. Every connection must be greeted, and closed by the server within a
// deadline after the client stops sending (no hang); afterwards the process is
// still running and still serves a well-behaved client (no crash).
import { readdirSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { LineClient, sleep } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutateMessage, mutateSession } from './helpers/mutator.js';
import { LONG, type Rng, seededRng } from './helpers/rng.js';
import { type Servers, startServers } from './helpers/servers.js';

const BUDGET_MS = LONG ? 120_000 : 10_000;
const PARALLEL = 4;
const CLOSE_DEADLINE_MS = 10_000;
const corpusDir = resolve(import.meta.dirname, '../../mime/test/fixtures/corpus/messages');

let s: Servers;

beforeAll(async () => {
  s = await startServers('fuzz');
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

const SESSIONS = {
  smtp: [
    'EHLO client.example.org',
    'MAIL FROM:<sender@example.org> SIZE=100 BODY=8BITMIME',
    'RCPT TO:<alice@example.test>',
    'RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test',
    'DATA',
    'From: <sender@example.org>',
    'Subject: hello',
    '',
    'body text',
    '.',
    'RSET',
    'VRFY alice',
    'NOOP',
    'HELP',
    'AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=',
    'BDAT 5 LAST',
    'hello',
    'QUIT',
  ],
  pop3: [
    'CAPA',
    'USER alice@example.test',
    'PASS alice-secret',
    'STAT',
    'LIST',
    'UIDL 1',
    'RETR 1',
    'TOP 1 5',
    'DELE 1',
    'RSET',
    'NOOP',
    'AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=',
    'APOP alice@example.test 0123456789abcdef0123456789abcdef',
    'QUIT',
  ],
  imap: [
    'a1 CAPABILITY',
    'a2 LOGIN alice@example.test alice-secret',
    'a3 LIST "" "*"',
    'a4 SELECT INBOX',
    'a5 FETCH 1:* (FLAGS UID BODYSTRUCTURE ENVELOPE)',
    'a6 SEARCH OR SUBJECT hello FROM bob SINCE 1-Jan-2020',
    'a7 UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[1]<0.100>)',
    'a8 STORE 1 +FLAGS (\\Seen)',
    'a9 CREATE "Archive/2024"',
    'a10 STATUS INBOX (MESSAGES UIDNEXT UNSEEN)',
    'a11 APPEND INBOX (\\Seen) {18+}',
    'Subject: x\r\n\r\nhi\r',
    'a12 IDLE',
    'DONE',
    'a13 UID SEARCH CHARSET UTF-8 TEXT {3+}',
    'abc',
    'a14 EXPUNGE',
    'a15 LOGOUT',
  ],
} as const;

type Proto = keyof typeof SESSIONS;
const portOf = (p: Proto) => (p === 'smtp' ? s.smtp : p === 'pop3' ? s.pop3 : s.imap);

/** Sends `chunks`, half-closes, and reports whether the server greeted and then closed in time. */
function exchange(port: number, chunks: Buffer[]): Promise<'ok' | 'no-greeting' | 'hang'> {
  return new Promise((done) => {
    const sock = new Socket();
    let greeted = false;
    let settled = false;
    const finish = (r: 'ok' | 'no-greeting' | 'hang') => {
      if (settled) return;
      settled = true;
      clearTimeout(greetTimer);
      clearTimeout(closeTimer);
      sock.destroy();
      done(r);
    };
    let closeTimer: NodeJS.Timeout | undefined;
    const greetTimer = setTimeout(() => finish('no-greeting'), CLOSE_DEADLINE_MS);
    sock.on('error', () => {});
    sock.on('close', () => finish(greeted ? 'ok' : 'no-greeting'));
    sock.once('data', () => {
      greeted = true;
      clearTimeout(greetTimer);
      for (const c of chunks) sock.write(c);
      sock.end();
      closeTimer = setTimeout(() => finish('hang'), CLOSE_DEADLINE_MS);
    });
    sock.on('data', () => {});
    sock.connect(port, '127.0.0.1');
  });
}

function splitChunks(rng: Rng, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = rng.chance(0.3) ? rng.int(1, 16) : rng.int(64, 8192);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

interface Counts {
  sessions: number;
  ok: number;
  'no-greeting': number;
  hang: number;
}

async function fuzz(rng: Rng, proto: Proto, make: (r: Rng) => Buffer): Promise<Counts> {
  const counts: Counts = { sessions: 0, ok: 0, 'no-greeting': 0, hang: 0 };
  const deadline = Date.now() + BUDGET_MS;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (Date.now() < deadline) {
        const bytes = make(rng);
        const r = await exchange(portOf(proto), splitChunks(rng, bytes));
        counts.sessions++;
        counts[r]++;
      }
    }),
  );
  return counts;
}

/**
 * A well-behaved session. Retried for a few seconds: the per-address
 * connection limit may still count fuzz sessions whose close is in flight.
 */
async function goodClient(proto: Proto): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await goodSession(proto);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

async function goodSession(proto: Proto): Promise<void> {
  if (proto === 'smtp') {
    const c = await LineClient.connect(s.smtp);
    await c.expect(/^220 /);
    await c.command('EHLO client.example.org', /^250 /);
    await c.command('MAIL FROM:<sender@example.org>', /^250 /);
    await c.command('RCPT TO:<alice@example.test>', /^250 /);
    await c.command('DATA', /^354 /);
    await c.command('Subject: after fuzz\r\n\r\nstill here\r\n.', /^250 /);
    c.close();
  } else if (proto === 'pop3') {
    const c = await LineClient.connect(s.pop3);
    await c.expect(/^\+OK/);
    await c.command('USER alice@example.test', /^\+OK/);
    await c.command('PASS alice-secret', /^\+OK/);
    await c.command('STAT', /^\+OK/);
    await c.command('QUIT', /^\+OK/);
    c.close();
  } else {
    const c = await LineClient.connect(s.imap);
    await c.expect(/^\* OK/);
    await c.command('a LOGIN alice@example.test alice-secret', /^a OK/);
    await c.command('b SELECT INBOX', /^b OK/);
    await c.command('c STATUS INBOX (MESSAGES UIDNEXT)', /^c OK/);
    await c.command('d LOGOUT', /^d OK/);
    c.close();
  }
}

function serviceOf(proto: Proto) {
  return proto === 'smtp' ? s.intake : proto === 'pop3' ? s.pop3d : s.imapd;
}

function report(what: string, rng: Rng, counts: Counts): void {
  process.stderr.write(`fuzz ${what}: seed ${rng.seed}, ${JSON.stringify(counts)}\n`);
}

describe('hostile input', () => {
  for (const proto of ['smtp', 'pop3', 'imap'] as const) {
    it(
      `${proto}: mutated sessions neither crash nor hang the server`,
      async () => {
        const rng = seededRng(`fuzz ${proto}`);
        // Sessions are cut wherever the mutation leaves them, DATA included.
        const counts = await fuzz(rng, proto, (r) =>
          Buffer.from(`${mutateSession(r, SESSIONS[proto]).join('\r\n')}\r\n`, 'latin1'),
        );
        report(proto, rng, counts);
        expect(serviceOf(proto).child.exitCode).toBeNull();
        expect(counts.hang).toBe(0);
        expect(counts['no-greeting']).toBe(0);
        await goodClient(proto);
      },
      BUDGET_MS + 60_000,
    );
  }

  const corpus = readdirSync(corpusDir)
    .filter((n) => n.endsWith('.eml'))
    .map((n) => readFileSync(join(corpusDir, n)).toString('latin1'));

  it(
    'MIME corpus, mutated: into intake over SMTP and into IMAP by APPEND, then parsed by FETCH',
    async () => {
      const rng = seededRng('fuzz mime');
      const smtpCounts = await fuzz(rng, 'smtp', (r) => {
        const msg = mutateMessage(r, r.pick(corpus)).replace(/(^|\r\n)\./g, '$1..');
        return Buffer.from(
          `EHLO fuzz.example.org\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n${msg}\r\n.\r\nQUIT\r\n`,
          'latin1',
        );
      });
      report('mime/smtp', rng, smtpCounts);
      const setup = await LineClient.connect(s.imap);
      await setup.expect(/^\* OK/);
      await setup.command('a LOGIN alice@example.test alice-secret', /^a OK/);
      await setup.command('b CREATE Fuzz', /^b (OK|NO)/);
      setup.close();
      const imapCounts = await fuzz(rng, 'imap', (r) => {
        const msg = Buffer.from(mutateMessage(r, r.pick(corpus)), 'latin1');
        return Buffer.concat([
          Buffer.from(
            `a LOGIN alice@example.test alice-secret\r\nb APPEND Fuzz {${msg.length}+}\r\n`,
            'latin1',
          ),
          msg,
          Buffer.from(
            '\r\nc SELECT Fuzz\r\nd FETCH * (BODYSTRUCTURE ENVELOPE BODY.PEEK[HEADER] BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1])\r\n' +
              'e SEARCH TEXT "test" HEADER Content-Type multipart\r\nf LOGOUT\r\n',
            'latin1',
          ),
        ]);
      });
      report('mime/imap', rng, imapCounts);
      expect(s.intake.child.exitCode).toBeNull();
      expect(s.imapd.child.exitCode).toBeNull();
      expect(smtpCounts.hang + imapCounts.hang).toBe(0);
      expect(smtpCounts['no-greeting'] + imapCounts['no-greeting']).toBe(0);
      await goodClient('smtp');
      await goodClient('imap');
    },
    2 * BUDGET_MS + 60_000,
  );
});
