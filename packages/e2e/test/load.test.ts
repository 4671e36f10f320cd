// Load (long variant only: POSTAMT_E2E_LONG=1). Many concurrent SMTP and IMAP
// connections, each running a mix of commands in a loop for a while; prints
// p50/p99 latency per command, errors, and the servers' RSS. Sizes:
// POSTAMT_E2E_LOAD_SMTP (1000), POSTAMT_E2E_LOAD_IMAP (2000),
// POSTAMT_E2E_LOAD_SECONDS (60).
import { readFileSync } from 'node:fs';
import { LineClient, type ServiceProcess, sleep } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG } from './helpers/rng.js';
import { type Servers, startServers } from './helpers/servers.js';

const SMTP_CONNS = Number(process.env.POSTAMT_E2E_LOAD_SMTP ?? 1000);
const IMAP_CONNS = Number(process.env.POSTAMT_E2E_LOAD_IMAP ?? 2000);
const SECONDS = Number(process.env.POSTAMT_E2E_LOAD_SECONDS ?? 60);

let s: Servers;

function rssMb(p: ServiceProcess): number {
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

class Stats {
  private samples = new Map<string, number[]>();
  errors = new Map<string, number>();
  add(what: string, ms: number): void {
    const list = this.samples.get(what) ?? [];
    list.push(ms);
    this.samples.set(what, list);
  }
  error(what: string): void {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }
  report(): string {
    const rows: string[] = [];
    for (const [what, list] of this.samples) {
      list.sort((a, b) => a - b);
      const q = (p: number) => list[Math.min(list.length - 1, Math.floor(p * list.length))]?.toFixed(1);
      rows.push(`  ${what.padEnd(14)} n=${list.length} p50=${q(0.5)}ms p99=${q(0.99)}ms max=${q(1)}ms`);
    }
    return rows.join('\n');
  }
}

async function timed(stats: Stats, what: string, c: LineClient, line: string, ok: RegExp, done: RegExp) {
  const t0 = performance.now();
  c.send(line);
  const reply = await c.expect(done, 60_000);
  if (!ok.test(reply)) throw new Error(`${what}: ${reply}`);
  stats.add(what, performance.now() - t0);
}

async function smtpLoop(stats: Stats, until: number, i: number): Promise<void> {
  const c = await LineClient.connect(s.smtp);
  try {
    await c.expect(/^220 /, 60_000);
    await timed(stats, 'smtp EHLO', c, 'EHLO load.example.org', /^250 /, /^\d{3} /);
    while (Date.now() < until) {
      await timed(stats, 'smtp MAIL', c, 'MAIL FROM:<load@example.org>', /^250 /, /^\d{3} /);
      await timed(stats, 'smtp RCPT', c, 'RCPT TO:<bob@example.test>', /^250 /, /^\d{3} /);
      await timed(stats, 'smtp DATA', c, 'DATA', /^354 /, /^\d{3} /);
      await timed(stats, 'smtp dot', c, `Subject: load ${i}\r\n\r\nhello\r\n.`, /^250 /, /^\d{3} /);
      await timed(stats, 'smtp NOOP', c, 'NOOP', /^250 /, /^\d{3} /);
      await sleep(200);
    }
    c.send('QUIT');
  } finally {
    c.close();
  }
}

async function imapLoop(stats: Stats, until: number): Promise<void> {
  const c = await LineClient.connect(s.imap);
  try {
    await c.expect(/^\* OK/, 60_000);
    await timed(stats, 'imap LOGIN', c, 'a LOGIN alice@example.test alice-secret', /^a OK/, /^a /);
    await timed(stats, 'imap SELECT', c, 'b SELECT INBOX', /^b OK/, /^b /);
    let n = 0;
    while (Date.now() < until) {
      const t = `t${n++}`;
      const step = n % 5;
      if (step === 0) await timed(stats, 'imap SELECT', c, `${t} SELECT INBOX`, / OK/, new RegExp(`^${t} `));
      else if (step === 1)
        await timed(
          stats,
          'imap FETCH',
          c,
          `${t} FETCH 1:5 (FLAGS ENVELOPE BODYSTRUCTURE)`,
          / OK/,
          new RegExp(`^${t} `),
        );
      else if (step === 2)
        await timed(stats, 'imap SEARCH', c, `${t} SEARCH SUBJECT seed`, / OK/, new RegExp(`^${t} `));
      else if (step === 3)
        await timed(
          stats,
          'imap STATUS',
          c,
          `${t} STATUS INBOX (MESSAGES UNSEEN)`,
          / OK/,
          new RegExp(`^${t} `),
        );
      else await timed(stats, 'imap NOOP', c, `${t} NOOP`, / OK/, new RegExp(`^${t} `));
      await sleep(200);
    }
    c.send('z LOGOUT');
  } finally {
    c.close();
  }
}

describe.skipIf(!LONG)('load', () => {
  beforeAll(async () => {
    s = await startServers('load', {
      POSTAMT_MAX_CLIENTS: String(SMTP_CONNS + 100),
      POSTAMT_IMAP_MAX_CONNECTIONS: String(IMAP_CONNS + 100),
      POSTAMT_IMAP_MAX_CONNECTIONS_PER_IP: String(IMAP_CONNS + 100),
    });
    // A few messages for FETCH and SEARCH to chew on.
    const c = await LineClient.connect(s.imap);
    await c.expect(/^\* OK/);
    await c.command('a LOGIN alice@example.test alice-secret', /^a OK/);
    for (let i = 0; i < 5; i++) {
      const msg = `Subject: seed ${i}\r\nFrom: <x@example.org>\r\n\r\nbody ${i}\r\n`;
      c.send(`b${i} APPEND INBOX {${msg.length}+}`);
      c.write(`${msg}\r\n`);
      await c.expect(new RegExp(`^b${i} OK`));
    }
    c.close();
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
  });

  it(
    `${SMTP_CONNS} SMTP + ${IMAP_CONNS} IMAP connections for ${SECONDS} s`,
    async () => {
      const stats = new Stats();
      const until = Date.now() + SECONDS * 1000;
      const rss: string[] = [];
      const sampler = setInterval(
        () => rss.push(`intake ${rssMb(s.intake)}MB imap ${rssMb(s.imapd)}MB`),
        5000,
      );
      const run = async (what: string, f: () => Promise<void>) => {
        try {
          await f();
        } catch (err) {
          stats.error(`${what}: ${(err as Error).message.slice(0, 80)}`);
        }
      };
      await Promise.all([
        ...Array.from({ length: SMTP_CONNS }, (_, i) => run('smtp', () => smtpLoop(stats, until, i))),
        ...Array.from({ length: IMAP_CONNS }, () => run('imap', () => imapLoop(stats, until))),
      ]);
      clearInterval(sampler);
      process.stderr.write(
        `load: ${SMTP_CONNS} SMTP + ${IMAP_CONNS} IMAP for ${SECONDS}s\n${stats.report()}\n` +
          `  RSS samples: ${rss.join('; ')}\n  errors: ${JSON.stringify(Object.fromEntries(stats.errors))}\n`,
      );
      expect([...stats.errors.values()].reduce((a, b) => a + b, 0)).toBe(0);
    },
    (SECONDS + 300) * 1000,
  );
});
