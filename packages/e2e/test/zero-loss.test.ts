// Zero loss under faults. Several SMTP clients send — to local users on the
// MX port, and as an authenticated user on the submission port to two remote
// domains (Postfix smtp-sink as their MX: one accepts, one refuses with 5xx) —
// while a chaos driver SIGKILLs and restarts intake, both filter workers, the
// relay and Redis, and stops and starts clamd and spamd, at seeded random
// moments. After everything is back and the queues have drained:
//   - every message that got a 250 is in exactly one Maildir or the quarantine;
//     submitted mail reached the accepting MX (more than once only for what a
//     relay kill caught in flight), or came back to its sender as exactly one DSN;
//   - every message refused (4xx/5xx) or never sent to the end is nowhere;
//   - a message whose connection died after the final dot (no reply: the
//     RFC 1047 window) is delivered at most once;
//   - the spool holds nothing: no committed file, no partial file.
// Short variant by default; POSTAMT_E2E_LONG=1 sends 10,000.
import { join } from 'node:path';
import { EICAR, freePort, type ServiceProcess, sleep } from '@postamt/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTING_DOMAIN, REJECTING_DOMAIN, type RemoteMx, startRemoteMx } from './helpers/remote-mx.js';
import { LONG, makeRng, type Rng, seededRng } from './helpers/rng.js';
import { type SendOutcome, sendMail } from './helpers/smtp-client.js';
import { intakeEnv, type Stack, startStack, USERS } from './helpers/stack.js';
import { deliveredFiles, maildirTmpFiles, readHead, spoolState, tokensDelivered } from './helpers/volume.js';

const TARGET = LONG ? 10_000 : 60;
const CLIENTS = LONG ? 16 : 4;
/** Short run: spread sending over about this long so the faults hit it. */
const SEND_SPREAD_MS = LONG ? 0 : 10_000;
/** Short run: how long faults are injected (restarts on a loaded 2-core box take seconds each). */
const CHAOS_WINDOW_MS = 15_000;
const DRAIN_TIMEOUT_MS = LONG ? 900_000 : 150_000;

let stack: Stack;
let smtpPort: number;
let submissionPort: number;
let intake: ServiceProcess;
let relay: ServiceProcess;
let remote: RemoteMx;
const filters: ServiceProcess[] = [];
let intakeExtra: Record<string, string>;
/** Jobs one relay process works on at once: the most a relay kill can catch in flight. */
const RELAY_CONCURRENCY = 8;
/** Share of messages submitted by an authenticated user to remote domains. */
const SUBMITTED = 0.2;

const filterEnv = {
  // No DNS in the test: the DKIM/SPF/DMARC checks would only wait for timeouts.
  POSTAMT_AUTH_CHECKS: 'false',
  POSTAMT_SCAN_BREAKER_COOLDOWN: '1s',
  POSTAMT_SCAN_CONNECT_TIMEOUT: '1s',
};

beforeAll(async () => {
  stack = await startStack({ label: 'zero-loss', spamdChildren: 4 });
  smtpPort = await freePort();
  intakeExtra = await intakeEnv(smtpPort, {
    // Redis may lose its last second of writes: the start-up sweep must find
    // spool files without jobs quickly (only one intake runs, so no race).
    POSTAMT_SWEEP_MIN_AGE: '1s',
    POSTAMT_ENQUEUE_TIMEOUT_MS: '3000',
  });
  submissionPort = Number(intakeExtra.POSTAMT_SUBMISSION_PORT);
  remote = await startRemoteMx(stack.logDir);
  [intake, relay] = await Promise.all([
    stack.start('intake', intakeExtra),
    stack.start('relay', {
      POSTAMT_DNS_SERVERS: remote.dns.address,
      POSTAMT_RELAY_SMTP_PORT: String(remote.port),
      POSTAMT_RELAY_TEST_ALLOW_NETWORKS: '127.0.0.0/8',
      POSTAMT_RELAY_CONCURRENCY: String(RELAY_CONCURRENCY),
      POSTAMT_RELAY_RETRY_MIN: '300ms',
      POSTAMT_RELAY_RETRY_MAX: '1s',
      POSTAMT_RELAY_DNS_TIMEOUT: '2s',
      POSTAMT_RELAY_JOB_LOCK: '2s',
    }),
    ...[0, 1].map(async (i) => {
      filters[i] = await stack.start('filter', filterEnv);
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([intake?.stop(), relay?.stop(), ...filters.map((f) => f.stop())]);
  await stack?.stop();
  await remote?.stop();
});

/** Where an attempt was sent: a local user over MX, or submitted to a remote domain that accepts or refuses. */
type Route = 'local' | 'remote' | 'bounced';

interface Attempt {
  token: string;
  route: Route;
  outcome: SendOutcome;
}

function message(token: string, from: string, to: string, virus: boolean): Buffer {
  const lines = [
    `From: Sender <${from}>`,
    `To: <${to}>`,
    `Subject: chaos ${token}`,
    `Message-ID: <${token}@example.org>`,
    'Date: Mon, 6 Jan 2025 10:00:00 +0000',
    `X-E2E-Token: ${token}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Hello, this is an ordinary test message about the quarterly meeting.',
    virus ? EICAR : 'Nothing to see here.',
    '.leading dot line',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

async function sender(rng: Rng, client: number, attempts: Attempt[], accepted: { n: number }): Promise<void> {
  let seq = 0;
  while (accepted.n < TARGET && Date.now() < sendDeadline) {
    const token = `c${client}-m${seq++}-${rng.int(0, 1e9).toString(36)}`;
    let outcome: SendOutcome;
    let route: Route = 'local';
    if (rng.chance(SUBMITTED)) {
      const user = rng.pick(USERS);
      route = rng.chance(0.25) ? 'bounced' : 'remote';
      const to = route === 'remote' ? `r-${token}@${ACCEPTING_DOMAIN}` : `nobody@${REJECTING_DOMAIN}`;
      outcome = await sendMail({
        port: submissionPort,
        auth: { user: user.address, pass: user.password },
        from: user.address,
        to: [to],
        body: message(token, user.address, to, false),
        timeoutMs: 20_000,
      });
    } else {
      const to = rng.pick(USERS).address;
      outcome = await sendMail({
        port: smtpPort,
        from: 'sender@example.org',
        to: [to],
        body: message(token, 'sender@example.org', to, rng.chance(0.05)),
        timeoutMs: 20_000,
      });
    }
    attempts.push({ token, route, outcome });
    if (outcome.kind === 'accepted') accepted.n++;
    else await sleep(100);
    if (SEND_SPREAD_MS > 0) await sleep((SEND_SPREAD_MS * CLIENTS) / TARGET);
  }
}

/**
 * Fault lanes, one per component, running at once until `done` says the
 * senders are finished: faults overlap as they do in real outages. Intake
 * restarts are serialised because the Redis lane restarts intake too.
 */
async function chaos(rng: Rng, done: () => boolean, log: string[]): Promise<void> {
  let intakeLock: Promise<unknown> = Promise.resolve();
  const withIntake = (fn: () => Promise<void>): Promise<void> => {
    const next = intakeLock.then(fn);
    intakeLock = next.catch(() => {});
    return next;
  };
  const restartIntake = (pauseMs: number) =>
    withIntake(async () => {
      await intake.kill();
      await sleep(pauseMs);
      intake = await intake.restart();
    });
  let lastFilterKill = 0;
  // Each filter kill leaves its active jobs stalled until BullMQ's lock (30 s)
  // expires; in the short run keep them apart so recovery fits the time budget.
  const filterKillGap = LONG ? 5_000 : 60_000;
  const faults: Record<string, (r: Rng) => Promise<boolean>> = {
    intake: async (r) => {
      await restartIntake(r.int(0, 800));
      return true;
    },
    filter: async (r) => {
      if (Date.now() - lastFilterKill < filterKillGap) return false;
      lastFilterKill = Date.now();
      const i = r.int(0, 1);
      const f = filters[i] as ServiceProcess;
      await f.kill();
      await sleep(r.int(0, 1500));
      filters[i] = await f.restart();
      return true;
    },
    redis: async (r) => {
      await stack.redisServer.kill();
      await sleep(r.int(100, 1500));
      await stack.redisServer.restart();
      // Jobs of the last second may be gone: the intake's start-up sweep
      // re-queues spool files without a job (older than POSTAMT_SWEEP_MIN_AGE).
      await restartIntake(1200);
      return true;
    },
    clamd: async (r) => {
      await stack.clamd?.stop();
      await sleep(r.int(200, 3000));
      await stack.clamd?.restart();
      return true;
    },
    relay: async (r) => {
      await relay.kill();
      await sleep(r.int(0, 1500));
      relay = await relay.restart();
      relayKills++;
      return true;
    },
    spamd: async (r) => {
      await stack.spamd?.stop();
      await sleep(r.int(200, 3000));
      await stack.spamd?.restart();
      return true;
    },
  };
  await Promise.all(
    Object.entries(faults).map(async ([name, fault], lane) => {
      const r = makeRng((rng.seed + 7919 * (lane + 1)) >>> 0);
      // Short run: faults only in the first CHAOS_WINDOW_MS, then the senders finish in peace.
      const stop = () => done() || (!LONG && Date.now() - startedAt > CHAOS_WINDOW_MS);
      while (!stop()) {
        // Long run: an outage somewhere every few seconds for the whole run
        // would leave nothing up on a 2-core box (a restart takes 10–30 s there).
        await sleep(LONG ? r.int(20_000, 60_000) : r.int(2000, 8000));
        if (stop()) break;
        const t0 = Date.now();
        if (await fault(r))
          log.push(`${name}@${Math.round((t0 - startedAt) / 100) / 10}s(${Date.now() - t0}ms)`);
      }
    }),
  );
}

let startedAt = Date.now();
let relayKills = 0;
/** Senders give up here even short of TARGET (the test then fails on the count). */
let sendDeadline = Date.now();

function progress(text: string): void {
  process.stderr.write(`zero-loss +${Math.round((Date.now() - startedAt) / 1000)}s: ${text}\n`);
}

describe('zero loss under faults', () => {
  it(
    `every 250 is delivered exactly once, nothing else is (${TARGET} messages)`,
    async () => {
      const rng = seededRng('zero-loss');
      const attempts: Attempt[] = [];
      const accepted = { n: 0 };
      const faults: string[] = [];
      let sending = true;
      const t0 = Date.now();
      startedAt = t0;
      sendDeadline = t0 + (LONG ? 3_000_000 : 90_000);
      const ticker = setInterval(
        () =>
          progress(
            `${accepted.n}/${TARGET} accepted, ${attempts.length} attempts, faults: ${faults.join(' ')}`,
          ),
        10_000,
      );
      const chaosDone = chaos(rng, () => !sending, faults);
      await Promise.all(
        Array.from({ length: CLIENTS }, (_, c) => sender(seededRngFor(rng, c), c, attempts, accepted)),
      ).finally(() => {
        sending = false;
      });
      await chaosDone;
      clearInterval(ticker);
      progress(`sending done; faults: ${faults.join(' ')}`);
      const sendMs = Date.now() - t0;

      // Everything back, then one more intake start to sweep the spool.
      await sleep(1200);
      await intake.kill();
      intake = await intake.restart();
      const drainStart = Date.now();
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const s = spoolState(stack.data);
        if (s.committed.length === 0 && s.tmp.length === 0) break;
        if ((Date.now() - drainStart) % 10_000 < 500)
          progress(`draining: ${s.committed.length} + ${s.tmp.length} in spool`);
        await sleep(500);
      }
      const drainMs = Date.now() - drainStart;

      const byToken = tokensDelivered(stack.data);
      const byId = deliveredFiles(stack.data);
      const atSink = remote.received();
      const counts = { accepted: 0, refused: 0, failedBeforeDot: 0, unknown: 0, unknownDelivered: 0 };
      const relayed = { accepted: 0, bounced: 0, resent: 0 };
      const problems: string[] = [];
      for (const { token, route, outcome } of attempts) {
        const files = byToken.get(token) ?? [];
        const sent = atSink.get(token) ?? 0;
        if (route !== 'remote' && sent > 0) problems.push(`${token} (${route}) reached the remote MX`);
        if (route !== 'local') {
          // Submitted mail: a 250 means it reached the accepting MX (bounced
          // route: exactly one DSN back in the sender's Maildir); anything
          // else means it went nowhere.
          const accepted = outcome.kind === 'accepted';
          if (outcome.kind === 'accepted') counts.accepted++;
          else if (outcome.kind === 'rejected') counts.refused++;
          else if (outcome.kind === 'failed') counts.failedBeforeDot++;
          else counts.unknown++;
          if (route === 'remote') {
            if (accepted && sent === 0)
              problems.push(`${token} (${outcome.id}) accepted, never reached the MX`);
            if (accepted && sent > 1) relayed.resent += sent - 1;
            if (accepted && sent > 0) relayed.accepted++;
            if (!accepted && outcome.kind !== 'unknown' && sent > 0)
              problems.push(`${token} not accepted (${outcome.kind}) but reached the MX`);
            if (files.length > 0)
              problems.push(`${token} to ${ACCEPTING_DOMAIN} bounced or delivered locally: ${files}`);
          } else {
            if (accepted && files.length !== 1)
              problems.push(`${token} (${outcome.id}) bounced: ${files.length} DSNs`);
            if (accepted && files.length === 1) relayed.bounced++;
            if (!accepted && outcome.kind !== 'unknown' && files.length > 0)
              problems.push(`${token} not accepted (${outcome.kind}) but bounced: ${files}`);
            if (outcome.kind === 'unknown' && files.length > 1)
              problems.push(`${token} (no reply) bounced ${files.length}×`);
          }
          continue;
        }
        switch (outcome.kind) {
          case 'accepted':
            counts.accepted++;
            if (files.length !== 1)
              problems.push(`${token} (${outcome.id}) accepted, found ${files.length}×`);
            else if (!files[0]?.includes(outcome.id))
              problems.push(`${token}: file ${files[0]} lacks ${outcome.id}`);
            // Never delivered unscanned, whatever the scanners went through.
            else if (!/^X-Virus-Scanned: /m.test(readHead(join(stack.data, files[0]))))
              problems.push(`${token}: ${files[0]} has no X-Virus-Scanned header`);
            break;
          case 'rejected':
            counts.refused++;
            if (files.length > 0)
              problems.push(`${token} refused (${outcome.reply}) but delivered: ${files}`);
            break;
          case 'failed':
            counts.failedBeforeDot++;
            if (files.length > 0) problems.push(`${token} never sent whole but delivered: ${files}`);
            break;
          case 'unknown':
            counts.unknown++;
            if (files.length === 1) counts.unknownDelivered++;
            if (files.length > 1) problems.push(`${token} (no reply) delivered ${files.length}×`);
            break;
        }
      }
      const duplicatesById = [...byId.entries()].filter(([, f]) => f.length > 1);
      const spool = spoolState(stack.data);
      const quarantined = [...byId.values()].flat().filter((f) => f.startsWith('quarantine/')).length;
      const notices = deliveredFiles(stack.data, { notices: true });
      const duplicateNotices = [...notices.entries()].filter(([, f]) => f.length > 1);
      process.stderr.write(
        `zero-loss: seed ${rng.seed}; ${attempts.length} attempts in ${sendMs} ms, drained in ${drainMs} ms\n` +
          `  accepted ${counts.accepted}, refused ${counts.refused}, failed before the dot ${counts.failedBeforeDot}, ` +
          `no reply after the dot ${counts.unknown} (of which delivered ${counts.unknownDelivered})\n` +
          `  delivered files ${[...byId.values()].flat().length} (quarantine ${quarantined}), notices ${notices.size}, ` +
          `spool left ${spool.committed.length} committed + ${spool.tmp.length} partial, ` +
          `Maildir tmp/ left ${maildirTmpFiles(stack.data).length}\n` +
          `  submitted to remote domains: ${relayed.accepted} reached the MX (${relayed.resent} re-sent after ` +
          `${relayKills} relay kills), ${relayed.bounced} bounced with one DSN each\n` +
          `  faults (${faults.length}): ${faults.join(' ')}\n`,
      );
      expect(problems).toEqual([]);
      expect(duplicatesById).toEqual([]);
      expect(duplicateNotices).toEqual([]);
      expect(spool).toEqual({ committed: [], tmp: [] });
      expect(counts.accepted).toBeGreaterThanOrEqual(TARGET);
      // A relay kill can catch at most its in-flight jobs after the MX said 250.
      expect(relayed.resent).toBeLessThanOrEqual(relayKills * RELAY_CONCURRENCY);
      expect(relayed.accepted + relayed.bounced).toBeGreaterThan(0);
      expect(faults.length).toBeGreaterThan(0);
    },
    LONG ? 3_600_000 : 300_000,
  );
});

/** Each client gets its own stream so the schedule does not depend on interleaving. */
function seededRngFor(rng: Rng, client: number): Rng {
  return makeRng((rng.seed ^ Math.imul(client + 1, 0x9e3779b1)) >>> 0);
}
