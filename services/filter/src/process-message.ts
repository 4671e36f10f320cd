// One filter job: read the spooled message, expand its recipients, deliver a
// copy to each local recipient's INBOX, hand remote recipients to the relay
// queue, and remove the spool file when every recipient is taken care of.
//
// Idempotent by construction, because BullMQ delivers at least once: each
// Maildir file name is derived from the spool id and recipient, so a retry
// after a crash finds the copies it already made instead of making new ones.
// (Scanning with clamd and spamd comes with the filter issue.)
import { createHash } from 'node:crypto';
import type { Directory, User } from '@postamt/directory';
import { deliver, folderDir, userMaildir } from '@postamt/maildir';
import type { Logger } from '@postamt/observability';
import { type Queues, type Spool, SpoolError, spoolIdTime } from '@postamt/queue';

export interface FilterDeps {
  spool: Spool;
  queues: Queues;
  directory: Directory;
  dataDir: string;
  hostname: string;
  logger: Logger;
}

export type FilterOutcome =
  | { kind: 'done'; delivered: number; duplicates: number; relayed: number; dropped: number }
  /** The spool file is gone: an earlier run finished, or intake never acknowledged it. */
  | { kind: 'no-spool-file' };

function deliveryKey(spoolId: string, userKey: string): string {
  return `${spoolId}_${createHash('sha256').update(userKey).digest('hex').slice(0, 12)}`;
}

export async function processMessage(deps: FilterDeps, spoolId: string): Promise<FilterOutcome> {
  let message: Awaited<ReturnType<Spool['openMessage']>>;
  try {
    message = await deps.spool.openMessage(spoolId);
  } catch (err) {
    if (err instanceof SpoolError && err.code === 'not-found') return { kind: 'no-spool-file' };
    throw err;
  }
  const log = deps.logger.child({ queueId: spoolId });
  const local = new Map<string, User>();
  const remote = new Set<string>();
  let dropped = 0;
  for (const rcpt of message.envelope.rcptTo) {
    const expanded = await deps.directory.expand(rcpt.address);
    for (const u of expanded.local) local.set(u.key, u);
    for (const r of expanded.remote) remote.add(r);
    if (expanded.local.length === 0 && expanded.remote.length === 0) dropped++;
  }
  if (dropped > 0) log.warn({ dropped }, 'recipients no longer exist');

  let delivered = 0;
  let duplicates = 0;
  const time = Math.floor(spoolIdTime(spoolId) / 1000);
  for (const user of local.values()) {
    const result = await deliver({
      dir: folderDir(userMaildir(deps.dataDir, user.key), 'INBOX'),
      deliveryKey: deliveryKey(spoolId, user.key),
      time,
      host: deps.hostname,
      source: message.stream(),
    });
    if (result.created) delivered++;
    else duplicates++;
    log.info({ to: user.address, file: result.name, created: result.created }, 'delivered');
  }
  if (remote.size > 0) {
    await deps.queues.add('relay', spoolId, { spoolId, recipients: [...remote] });
    log.info({ to: [...remote] }, 'handed to relay');
  } else {
    await deps.spool.remove(spoolId);
  }
  return { kind: 'done', delivered, duplicates, relayed: remote.size, dropped };
}
