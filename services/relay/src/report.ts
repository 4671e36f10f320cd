// Spooling DSNs back to the envelope sender (the spooling itself is
// @postamt/queue's spoolDsn). Never sent to `<>` (RFC 5321 §4.5.5).
// Idempotent: the DSN's spool id is chosen once in Redis per message and set
// of reported recipients, so a re-run after a crash finds the same file and
// the same job id.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Envelope, newSpoolId, type Queues, type Spool, spoolDsn as spoolBounce } from '@postamt/queue';
import type { DsnRecipient } from './dsn.js';
import type { RelayState } from './state.js';

export interface ReportDeps {
  spool: Spool;
  queues: Queues;
  state: RelayState;
  hostname: string;
}

export interface SpooledMessage {
  id: string;
  envelope: Envelope;
  size: number;
  stream: () => Readable;
}

/** Spools one DSN about `recipients`; null when the sender is `<>`. Returns the DSN's spool id. */
export async function spoolDsn(
  deps: ReportDeps,
  msg: SpooledMessage,
  recipients: DsnRecipient[],
  now: Date,
): Promise<string | null> {
  if (msg.envelope.mailFrom === '' || recipients.length === 0) return null;
  const kind = createHash('sha256')
    .update(
      recipients
        .map((r) => `${r.action}:${r.address}`)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 24);
  const dsnId = await deps.state.dsnId(msg.id, kind, newSpoolId());
  return spoolBounce(deps, msg, recipients, now, { dsnId });
}
