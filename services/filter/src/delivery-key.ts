// The stable name part of one delivery: spool id + recipient hash (+ a kind,
// e.g. `n` for a notice). Retries of a job compute the same key, which is what
// makes Maildir delivery idempotent.
import { createHash } from 'node:crypto';

export function deliveryKey(spoolId: string, userKey: string, kind = ''): string {
  return `${spoolId}_${kind}${createHash('sha256').update(userKey).digest('hex').slice(0, 12)}`;
}
