// One filter job: read the spooled message (once, message-bytes.ts), expand
// its recipients, scan it once (clamd ∥ spamd as the `User:` spam-user.ts
// picks, with sender authentication and attachment names), decide:
//   - virus, banned attachment, DMARC reject, scan limit (by policy), or
//     unscanned → quarantine for everyone; for a virus or banned attachment
//     each local recipient gets a short notice (never a bounce)
//   - otherwise per local recipient, by their own levels: clean → INBOX,
//     spam (≥ tag2) → Junk, ≥ kill → quarantine
//   - remote recipients → the relay queue (quarantine if ≥ the global kill level)
// and remove the spool file when every recipient is taken care of.
// Submitted mail (source `submission`) that is not clean goes to quarantine
// for everyone and the sender gets a bounce (refuse-submission.ts).
//
// Scanner trouble is never a verdict: the job throws ScannersUnavailable so
// BullMQ retries with backoff; only on the last attempt is the message
// quarantined as unscanned, with an alert. Mail is never delivered unscanned.
//
// Idempotent, because BullMQ delivers at least once: Maildir file names derive
// from the spool id and recipient (each delivery's claim stays in tmp/ until the
// job is done), the quarantine entry from the spool id, and the scan report of
// the first attempt is reused by later ones.
import type { Directory, User } from '@postamt/directory';
import { deliver, folderDir, releaseClaims, userMaildir } from '@postamt/maildir';
import { summarizeMessage } from '@postamt/mime';
import type { Logger } from '@postamt/observability';
import { type Queues, type Spool, SpoolError, spoolIdTime } from '@postamt/queue';
import { composeHeader } from './copy.js';
import { deliveryKey } from './delivery-key.js';
import { type LevelOverrides, levelsFor } from './levels.js';
import { bytesFrom, headerOf, type MessageBytes, readOnce } from './message-bytes.js';
import { subjectOf } from './notice.js';
import { deliverNotices } from './notify.js';
import { quarantine } from './quarantine.js';
import { type BounceIds, bounceRefusedSubmission, refusesSubmission } from './refuse-submission.js';
import { type ScanFailure, type Scanners, type ScanReport, scanMessage } from './scan.js';
import type { SpamUsers } from './spam-user.js';
import { decide, isHeld, type Levels, type Verdict } from './verdict.js';
import type { VerdictStore } from './verdict-store.js';

export interface FilterDeps {
  spool: Spool;
  queues: Queues;
  directory: Directory;
  scanners: Scanners;
  verdicts: VerdictStore;
  levels: Levels;
  /** Per-domain and per-user spam levels over `levels`. */
  levelOverrides: LevelOverrides;
  dataDir: string;
  hostname: string;
  logger: Logger;
  /** Where refused submissions' bounces get their id once (absent: a fresh id per run). */
  bounceIds?: BounceIds;
  /** Whose spamd store scores a message (absent: no `User:`, spamd's default store). */
  spamUsers?: SpamUsers;
}

export type FilterOutcome =
  | {
      kind: 'done';
      verdict: Verdict['kind'];
      delivered: number;
      duplicates: number;
      relayed: number;
      dropped: number;
      quarantined: boolean;
    }
  /** The spool file is gone: an earlier run finished, or intake never acknowledged it. */
  | { kind: 'no-spool-file' };

/** Thrown so that the queue retries the job later; the message stays in the spool. */
export class ScannersUnavailable extends Error {
  constructor(readonly failures: ScanFailure[]) {
    super(`scanners unavailable: ${failures.map((f) => `${f.scanner} (${f.detail})`).join(', ')}`);
    this.name = 'ScannersUnavailable';
  }
}

export interface JobContext {
  /** True on the job's last allowed attempt: unscannable mail then goes to quarantine. */
  finalAttempt: boolean;
  /**
   * True when no earlier run of this job started (not retried, not stalled):
   * no scan report of an earlier run is looked up. A report left by another
   * job for the same message (a spool sweep) still wins: put() keeps the first.
   */
  firstStart?: boolean;
}

export async function processMessage(
  deps: FilterDeps,
  spoolId: string,
  ctx: JobContext = { finalAttempt: false },
): Promise<FilterOutcome> {
  let message: MessageBytes;
  try {
    message = await readOnce(await deps.spool.openMessage(spoolId), { path: deps.spool.pathOf(spoolId) });
  } catch (err) {
    if (err instanceof SpoolError && err.code === 'not-found') return { kind: 'no-spool-file' };
    // Removed between reading its envelope and its bytes: another run finished it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'no-spool-file' };
    throw err;
  }
  const log = deps.logger.child({ queueId: spoolId });
  const local = new Map<string, User>();
  const remote = new Set<string>();
  let dropped = 0;
  // Independent Redis reads go out together: one wait instead of one per read.
  const [expansions, stored] = await Promise.all([
    Promise.all(message.envelope.rcptTo.map((rcpt) => deps.directory.expand(rcpt.address))),
    ctx.firstStart ? null : deps.verdicts.get(spoolId),
  ]);
  for (const expanded of expansions) {
    for (const u of expanded.local) local.set(u.key, u);
    for (const r of expanded.remote) remote.add(r);
    if (expanded.local.length === 0 && expanded.remote.length === 0) dropped++;
  }
  if (dropped > 0) log.warn({ dropped }, 'recipients no longer exist');

  let report: ScanReport | null = stored;
  if (!report) {
    const spamUser = await deps.spamUsers?.forMessage([...local.keys()], remote.size);
    const scanned = await scanMessage(deps.scanners, message, spamUser);
    if (scanned.ok) report = await deps.verdicts.put(spoolId, scanned.report);
    else if (!ctx.finalAttempt) throw new ScannersUnavailable(scanned.failures);
    else
      log.error(
        { alert: true, failures: scanned.failures },
        'ALERT: scanners unavailable on the last attempt; message quarantined unscanned',
      );
  }
  const verdict: Verdict = report
    ? decide(report, deps.levels)
    : { kind: 'unscanned', reason: 'scanners unavailable' };

  const header = await headerOf(message);
  const compose = (v: Verdict, levels: Levels) =>
    composeHeader(header, deps.hostname, report, v, levels).prefix;
  const { removed } = composeHeader(header, deps.hostname, report, verdict, deps.levels);
  if (removed.length > 0) log.info({ removed }, 'removed untrusted header fields');
  // Held in memory (the usual case): the bytes themselves, no stream per copy.
  const body = () =>
    message.bytes ? message.bytes.subarray(header?.length ?? 0) : bytesFrom(message, header?.length ?? 0);
  const time = Math.floor(spoolIdTime(spoolId) / 1000);
  // Copies with the same header block are the same bytes: parsed for the
  // summaries index once (an alias or a list to many local users).
  const summaries = new Map<string, unknown>();
  const indexerFor = (prefix: Buffer) => (bytes: Buffer) => {
    const key = prefix.toString('latin1');
    if (!summaries.has(key)) summaries.set(key, summarizeMessage(bytes));
    return summaries.get(key);
  };
  // Each delivery's claim on its key (maildir deliver): kept until this job is done,
  // so that a retry after a crash finds what was delivered instead of copying it again.
  const claims: string[] = [];
  const outcome = {
    kind: 'done' as const,
    verdict: verdict.kind,
    delivered: 0,
    duplicates: 0,
    relayed: 0,
    dropped,
    quarantined: false,
  };
  log.info({ verdict, scanMs: report?.ms, rules: report?.spam.rules }, 'verdict');

  const hold = async (localHeld: User[], remoteHeld: string[], v: Verdict) => {
    const q = await quarantine(
      deps.dataDir,
      {
        id: spoolId,
        quarantinedAt: new Date().toISOString(),
        verdict: v,
        envelope: message.envelope,
        localRecipients: localHeld.map((u) => u.address),
        remoteRecipients: remoteHeld,
        scan: report,
      },
      compose(v, deps.levels),
      body,
    );
    outcome.quarantined = true;
    log.warn({ verdict: v.kind, path: q.path, created: q.created }, 'quarantined');
  };

  // Submitted mail with a virus, a banned attachment or spam goes nowhere: the
  // sender gets a bounce instead (refuse-submission.ts).
  if (message.envelope.source === 'submission' && refusesSubmission(verdict)) {
    await hold([...local.values()], [...remote], verdict);
    const dsn = await bounceRefusedSubmission(deps, { id: spoolId, ...message }, verdict);
    log.warn(
      { verdict: verdict.kind, user: message.envelope.authUser, dsn },
      'submission refused, sender bounced',
    );
  } else if (isHeld(verdict) && verdict.kind !== 'kill') {
    // Message-wide verdicts (virus, banned, limit, DMARC, unscanned) hold it for
    // everyone. A spam score is judged per recipient against their own levels.
    await hold([...local.values()], [...remote], verdict);
    if (verdict.kind === 'virus' || verdict.kind === 'banned') {
      const reason =
        verdict.kind === 'virus'
          ? { kind: verdict.kind, what: verdict.signature }
          : { kind: verdict.kind, what: verdict.names.join(', ') };
      const notices = await deliverNotices(
        { dataDir: deps.dataDir, hostname: deps.hostname },
        [...local.values()],
        {
          queueId: spoolId,
          mailFrom: message.envelope.mailFrom,
          reason,
          subject: subjectOf(header),
          time,
        },
      );
      claims.push(...notices);
    }
  } else {
    const killed: User[] = [];
    for (const user of local.values()) {
      const levels = levelsFor(deps.levels, deps.levelOverrides, user.key);
      const v = report ? decide(report, levels) : verdict;
      if (v.kind === 'kill') {
        killed.push(user);
        continue;
      }
      const folder = v.kind === 'spam' ? 'Junk' : 'INBOX';
      const prefix = compose(v, levels);
      const result = await deliver({
        dir: folderDir(userMaildir(deps.dataDir, user.key), folder),
        deliveryKey: deliveryKey(spoolId, user.key),
        time,
        host: deps.hostname,
        prefix,
        source: body(),
        // Parsed once, here: IMAP serves ENVELOPE/BODYSTRUCTURE from the stored summary.
        indexer: indexerFor(prefix),
        // This worker serves no clients: fsync on the spot, no thread-pool hand-offs.
        syncInline: true,
      });
      claims.push(result.claim);
      if (result.created) outcome.delivered++;
      else outcome.duplicates++;
      log.info({ to: user.address, folder, file: result.name, created: result.created }, 'delivered');
    }
    // Outbound mail is judged by the global levels.
    const remoteHeld = verdict.kind === 'kill' ? [...remote] : [];
    if (killed.length > 0 || remoteHeld.length > 0) {
      await hold(killed, remoteHeld, { kind: 'kill', score: report?.spam.score ?? 0 });
    }
    if (remote.size > 0 && remoteHeld.length === 0) {
      await deps.queues.add('relay', spoolId, { spoolId, recipients: [...remote] });
      outcome.relayed = remote.size;
      log.info({ to: [...remote] }, 'handed to relay');
      await deps.verdicts.delete(spoolId);
      releaseClaims(claims);
      return outcome;
    }
  }
  await deps.spool.remove(spoolId);
  await deps.verdicts.delete(spoolId);
  releaseClaims(claims);
  return outcome;
}
