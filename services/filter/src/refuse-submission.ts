// Submitted mail the filter will not send on (issue 6): a virus, a banned
// attachment, spam (≥ tag2 by the global levels), a scan limit held by
// policy, or a message that could never be scanned. Nothing leaves — not to
// remote recipients and not to local ones — the message goes to quarantine,
// and the authenticated sender gets a clear bounce: an RFC 3464 DSN with only
// the headers returned (never the infected body), spooled as internal mail so
// the filter delivers it to their INBOX. The submitting client was told 250,
// so this bounce is sent whatever NOTIFY asked: it is the only way the user
// learns the message did not go.
import type { Readable } from 'node:stream';
import {
  type DsnRecipient,
  type Envelope,
  newSpoolId,
  type Queues,
  type Redis,
  type Spool,
  spoolDsn,
} from '@postamt/queue';
import type { Verdict } from './verdict.js';

/** Verdicts that stop submitted mail from going anywhere. */
export function refusesSubmission(v: Verdict): boolean {
  return v.kind !== 'clean' && v.kind !== 'dmarc-reject';
}

/** The bounce's spool id, chosen once per refused message (a re-run finds the same DSN). */
export interface BounceIds {
  idFor(spoolId: string): Promise<string>;
}

export class RedisBounceIds implements BounceIds {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 7 * 86_400,
  ) {}

  async idFor(spoolId: string): Promise<string> {
    const key = `filter:bounce:${spoolId}`;
    const proposed = newSpoolId();
    if ((await this.redis.set(key, proposed, 'EX', this.ttlSeconds, 'NX')) === 'OK') return proposed;
    return (await this.redis.get(key)) ?? proposed;
  }
}

function why(v: Verdict): { status: string; reason: string; explanation: string } {
  const kept =
    'It was not sent to any recipient and is kept in quarantine; ask your administrator if you think this is wrong.';
  switch (v.kind) {
    case 'virus':
      return {
        status: '5.7.1',
        reason: `message refused: virus found (${v.signature})`,
        explanation: `Your message was NOT sent: it contains a virus (${v.signature}). ${kept}`,
      };
    case 'banned':
      return {
        status: '5.7.1',
        reason: `message refused: attachment type not allowed (${v.names.join(', ')})`,
        explanation: `Your message was NOT sent: it has an attachment of a type that may not be sent (${v.names.join(', ')}). ${kept}`,
      };
    case 'spam':
    case 'kill':
      return {
        status: '5.7.1',
        reason: `message refused: classified as spam (score ${v.score})`,
        explanation: `Your message was NOT sent: the content filter classified it as spam (score ${v.score}). ${kept}`,
      };
    case 'limit':
      return {
        status: '5.7.1',
        reason: 'message refused: could not be scanned completely',
        explanation: `Your message was NOT sent: it could not be scanned completely (too large or too deeply nested). ${kept}`,
      };
    default:
      return {
        status: '5.3.0',
        reason: 'message refused: could not be scanned',
        explanation: `Your message was NOT sent: it could not be scanned for viruses and spam. ${kept}`,
      };
  }
}

/** Spools the bounce to the submitting user; the DSN's spool id, or null for `<>`. */
export async function bounceRefusedSubmission(
  deps: { spool: Spool; queues: Queues; hostname: string; bounceIds?: BounceIds },
  msg: { id: string; envelope: Envelope; size: number; stream: () => Readable },
  verdict: Verdict,
  now = new Date(),
): Promise<string | null> {
  const w = why(verdict);
  const recipients: DsnRecipient[] = msg.envelope.rcptTo.map((r) => ({
    address: r.address,
    ...(r.orcpt ? { orcpt: r.orcpt } : {}),
    action: 'failed',
    status: w.status,
    reason: w.reason,
    lastAttempt: now,
  }));
  const dsnId = deps.bounceIds ? await deps.bounceIds.idFor(msg.id) : newSpoolId();
  return spoolDsn(deps, msg, recipients, now, {
    dsnId,
    headersOnly: true,
    explanation: w.explanation,
    subject: 'Message not sent: refused by the content filter',
  });
}
