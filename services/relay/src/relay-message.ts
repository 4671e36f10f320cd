// One attempt at a spooled message's remote recipients (one `relay` job run):
//
//   1. recipients already final in Redis (sent or bounced) are skipped, so a
//      re-run after a crash or a duplicate job re-sends nothing already accepted
//   2. the rest are grouped by destination and delivered, destinations in
//      parallel; every answer is stored in Redis as soon as it is known
//   3. bounces (5xx, null MX, expiry) become one DSN to the sender, if NOTIFY
//      asks for it; a delay warning once, if configured
//   4. when nothing is left the spool file is removed, otherwise the caller
//      schedules the next attempt at the returned time
import type { Logger } from '@postamt/observability';
import { type Queues, type Recipient, type Spool, SpoolError, spoolIdTime } from '@postamt/queue';
import { type DestinationDeps, deliverDestination } from './destination.js';
import type { DkimSigner } from './dkim.js';
import { withSignature } from './dkim.js';
import type { DsnRecipient } from './dsn.js';
import type { DestinationLimiter } from './limiter.js';
import type { RelayMetrics } from './metrics.js';
import { permanent, type RcptOutcome } from './replies.js';
import { type SpooledMessage, spoolDsn } from './report.js';
import { routeKey } from './route.js';
import { expired, nextAttempt, type Schedule } from './schedule.js';
import type { FinalRecord, MessageMeta, RelayState } from './state.js';
import { addressProblem, domainOf, senderProblem } from './wire-safety.js';

export interface RelayDeps {
  spool: Spool;
  queues: Queues;
  state: RelayState;
  limiter: DestinationLimiter;
  destination: Omit<DestinationDeps, 'log'>;
  schedule: Schedule;
  /** 0: no delay warnings. */
  delayWarningMs: number;
  hostname: string;
  logger: Logger;
  /** Outbound DKIM; absent: nothing is signed. */
  dkim?: DkimSigner;
  metrics?: RelayMetrics;
  now?: () => number;
}

export type RelayResult = { kind: 'done' } | { kind: 'retry'; at: number; pending: string[] };

export async function relayMessage(
  deps: RelayDeps,
  spoolId: string,
  jobRecipients: string[],
): Promise<RelayResult> {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ queueId: spoolId });
  let msg: SpooledMessage;
  try {
    msg = { id: spoolId, ...(await deps.spool.openMessage(spoolId)) };
  } catch (err) {
    if (err instanceof SpoolError && err.code === 'not-found') {
      // Already finished by an earlier run (at-least-once delivery of jobs).
      log.info('spool file gone: nothing left to relay');
      await deps.state.forget(spoolId);
      return { kind: 'done' };
    }
    throw err;
  }
  const env = msg.envelope;
  const [finals, known] = await Promise.all([deps.state.finals(spoolId), deps.state.meta(spoolId)]);
  const wanted = [...new Set(jobRecipients)];
  const meta: MessageMeta = known ?? {
    attempts: 0,
    first: Date.parse(env.receivedAt) || spoolIdTime(spoolId),
    warned: false,
    sender: env.mailFrom,
  };
  meta.attempts += 1;
  meta.last = now();
  await deps.state.saveMeta(spoolId, meta);

  const record = async (outcomes: Map<string, RcptOutcome>) => {
    const fresh = new Map<string, FinalRecord>();
    for (const [rcpt, o] of outcomes) {
      deps.metrics?.recipients.inc({ outcome: o.kind });
      log.info(
        {
          to: rcpt,
          outcome: o.kind,
          ...('status' in o ? { status: o.status } : {}),
          reply: o.text,
          host: o.host,
          checks: o.checks,
        },
        'recipient',
      );
      if (o.kind === 'temp') {
        lastTemp.set(rcpt, o);
        continue;
      }
      const rec: FinalRecord = {
        state: o.kind === 'sent' ? 'sent' : 'bounced',
        text: o.text,
        at: now(),
        ...(o.kind === 'perm' ? { status: o.status } : {}),
        ...(o.kind === 'perm' && o.smtp ? { smtp: o.smtp } : {}),
        ...(o.host ? { host: o.host } : {}),
        ...(o.checks ? { checks: o.checks } : {}),
        ...(o.kind === 'sent' && o.dsn ? { dsn: true } : {}),
      };
      fresh.set(rcpt, rec);
      finals.set(rcpt, rec);
    }
    await deps.state.setFinals(spoolId, fresh);
  };
  const lastTemp = new Map<string, RcptOutcome>();

  const open = wanted.filter((r) => !finals.has(r));
  // Nothing unsafe reaches the wire: a bad path is a permanent failure here.
  const badSender = senderProblem(env.mailFrom);
  const bad = new Map<string, RcptOutcome>();
  for (const r of open) {
    if (badSender) bad.set(r, permanent('5.1.7', `invalid sender address (${badSender})`));
    else {
      const p = addressProblem(r);
      if (p) bad.set(r, permanent('5.1.3', `invalid recipient address (${p})`));
    }
  }
  await record(bad);

  const groups = new Map<string, { domain: string; rcpts: string[] }>();
  for (const r of open.filter((x) => !bad.has(x))) {
    const domain = domainOf(r);
    const key = routeKey(domain, deps.destination.route.transports);
    // Transport-routed domains share a session; MX-routed ones go per domain.
    const g = groups.get(key) ?? { domain, rcpts: [] };
    g.rcpts.push(r);
    groups.set(key, g);
  }
  // Signed once per attempt, only when something is left to send.
  const signed = groups.size > 0 && deps.dkim ? await deps.dkim.sign(msg) : null;
  if (signed) log.info({ domain: signed.domain, selector: signed.selector }, 'DKIM signed');
  const tx = {
    from: env.mailFrom,
    size: msg.size + (signed?.header.length ?? 0),
    eightBit: env.params.body === '8BITMIME' || env.params.body === 'BINARYMIME',
    body: signed ? withSignature(signed.header, msg.stream) : msg.stream,
    // RFC 3461 §5.2, §5.3: RET, ENVID, NOTIFY and ORCPT go on to a next hop that speaks DSN.
    ...(env.params.ret ? { ret: env.params.ret } : {}),
    ...(env.params.envid ? { envid: env.params.envid } : {}),
    rcptDsn: new Map(
      env.rcptTo.map((r) => [
        r.address,
        { ...(r.notify ? { notify: r.notify } : {}), ...(r.orcpt ? { orcpt: r.orcpt } : {}) },
      ]),
    ),
  };
  const destLog = (obj: Record<string, unknown>, m: string) => log.info(obj, m);
  await Promise.all(
    [...groups].map(([key, g]) =>
      deps.limiter.run(key, () =>
        deliverDestination(key, g.domain, g.rcpts, tx, { ...deps.destination, log: destLog }, record).catch(
          async (err: unknown) => {
            log.error({ err, destination: key }, 'delivery to destination failed unexpectedly');
            const o: RcptOutcome = { kind: 'temp', status: '4.3.0', text: 'internal error' };
            for (const r of g.rcpts) if (!finals.has(r)) lastTemp.set(r, o);
          },
        ),
      ),
    ),
  );

  let pending = wanted.filter((r) => !finals.has(r));
  const t = now();
  if (pending.length > 0 && expired(t, meta.first, deps.schedule)) {
    // Too old: what is still deferred bounces with its last temporary reason.
    const out = new Map<string, RcptOutcome>();
    for (const r of pending) {
      const last = lastTemp.get(r);
      out.set(r, {
        kind: 'perm',
        status: last && 'status' in last ? last.status : '4.4.7',
        text: `delivery time expired; last error: ${last?.text ?? 'unknown'}`,
        ...(last && 'smtp' in last && last.smtp ? { smtp: last.smtp } : {}),
        ...(last?.host ? { host: last.host } : {}),
        ...(last?.checks ? { checks: last.checks } : {}),
      });
    }
    await record(out);
    pending = [];
  }

  await reportFinals(deps, msg, wanted, finals, t, log);

  if (pending.length === 0) {
    await deps.spool.remove(spoolId);
    await deps.state.forget(spoolId);
    log.info({ attempts: meta.attempts }, 'all remote recipients done, spool file removed');
    return { kind: 'done' };
  }

  if (deps.delayWarningMs > 0 && !meta.warned && t - meta.first >= deps.delayWarningMs) {
    const warn = pending
      .filter((r) => wantsNotice(recipientOf(env.rcptTo, r), 'DELAY'))
      .map((r) =>
        dsnRecipient(r, env.rcptTo, lastTemp.get(r), 'delayed', t, meta.first + deps.schedule.lifetimeMs),
      );
    await spoolDsn(reportDeps(deps), msg, warn, new Date(t));
    meta.warned = true;
  }

  const first = lastTemp.get(pending[0] as string);
  meta.next = nextAttempt(t, meta.attempts, meta.first, deps.schedule);
  meta.lastError = first ? `${'status' in first ? first.status : ''} ${first.text}`.trim() : 'deferred';
  await deps.state.saveMeta(spoolId, meta);
  log.info({ pending, next: new Date(meta.next).toISOString(), attempts: meta.attempts }, 'deferred');
  return { kind: 'retry', at: meta.next, pending };
}

function reportDeps(deps: RelayDeps) {
  return { spool: deps.spool, queues: deps.queues, state: deps.state, hostname: deps.hostname };
}

function recipientOf(rcptTo: Recipient[], address: string): Recipient | undefined {
  const lower = address.toLowerCase();
  return rcptTo.find((r) => r.address.toLowerCase() === lower);
}

/** RFC 3461 §4.1: no NOTIFY means failures (and, at our discretion, delays) are reported. */
function wantsNotice(r: Recipient | undefined, what: 'FAILURE' | 'DELAY' | 'SUCCESS'): boolean {
  if (!r?.notify || r.notify.length === 0) return what !== 'SUCCESS';
  return r.notify.includes(what);
}

function dsnRecipient(
  address: string,
  rcptTo: Recipient[],
  o: { status?: string; text: string; smtp?: string; host?: string; checks?: string } | undefined,
  action: DsnRecipient['action'],
  at: number,
  retryUntil?: number,
): DsnRecipient {
  const env = recipientOf(rcptTo, address);
  const remote = o?.host?.replace(/\[.*$/, '');
  return {
    address,
    ...(env?.orcpt ? { orcpt: env.orcpt } : {}),
    action,
    status: o?.status ?? (action === 'relayed' ? '2.0.0' : '4.0.0'),
    reason: o?.text ?? 'unknown',
    ...(o?.smtp ? { smtp: o.smtp } : {}),
    ...(remote ? { remoteMta: remote } : {}),
    ...(o?.checks ? { checks: o.checks } : {}),
    lastAttempt: new Date(at),
    ...(retryUntil ? { willRetryUntil: new Date(retryUntil) } : {}),
  };
}

/** One DSN for every final recipient not yet reported: failures, and successes with NOTIFY=SUCCESS. */
async function reportFinals(
  deps: RelayDeps,
  msg: SpooledMessage,
  wanted: string[],
  finals: Map<string, FinalRecord>,
  t: number,
  log: Logger,
): Promise<void> {
  const due = wanted.filter((r) => finals.get(r) && !finals.get(r)?.reported);
  if (due.length === 0) return;
  const env = msg.envelope;
  const notice: DsnRecipient[] = [];
  for (const r of due) {
    const f = finals.get(r) as FinalRecord;
    const rcpt = recipientOf(env.rcptTo, r);
    if (f.state === 'bounced' && wantsNotice(rcpt, 'FAILURE')) {
      notice.push(dsnRecipient(r, env.rcptTo, f, 'failed', f.at));
    }
    // RFC 3461 §6.2.2: a next hop that took NOTIFY reports delivery itself; one
    // without DSN support leaves it to us, as "relayed".
    if (f.state === 'sent' && !f.dsn && wantsNotice(rcpt, 'SUCCESS')) {
      notice.push(dsnRecipient(r, env.rcptTo, { status: '2.0.0', ...f }, 'relayed', f.at));
    }
  }
  const dsnId = await spoolDsn(reportDeps(deps), msg, notice, new Date(t));
  if (dsnId)
    log.info({ dsn: dsnId, recipients: notice.map((n) => `${n.action}:${n.address}`) }, 'DSN spooled');
  else if (notice.length) log.warn({ recipients: notice.map((n) => n.address) }, 'no DSN: null sender');
  // Only a spooled DSN needs remembering: with nothing due, a re-run finds nothing due again.
  if (!dsnId) return;
  const marked = new Map<string, FinalRecord>();
  for (const r of due) marked.set(r, { ...(finals.get(r) as FinalRecord), reported: true });
  await deps.state.setFinals(msg.id, marked);
}
