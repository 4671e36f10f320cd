// Queue visibility for operators (the admin service exposes it): which
// messages wait for another attempt, why (last error), when the next attempt
// is, and which recipients are still open; flush (try now) and delete.
import { type Queues, type Spool, SpoolError } from '@postamt/queue';
import type { RelayState } from './state.js';

export interface WaitingMessage {
  id: string;
  sender: string;
  pending: string[];
  attempts: number;
  firstAttempt: string;
  nextAttempt: string;
  lastError: string;
}

export async function listWaiting(
  deps: { state: RelayState; spool: Spool; queues: Queues },
  limit = 100,
): Promise<WaitingMessage[]> {
  const out: WaitingMessage[] = [];
  for (const { id, next } of await deps.state.waiting(limit)) {
    const meta = await deps.state.meta(id);
    const job = await deps.queues.get('relay').getJob(id);
    if (!meta || !job) continue;
    const finals = await deps.state.finals(id);
    const recipients: string[] = (job.data as { recipients?: string[] }).recipients ?? [];
    out.push({
      id,
      sender: meta.sender ?? '',
      pending: recipients.filter((r) => !finals.has(r)),
      attempts: meta.attempts,
      firstAttempt: new Date(meta.first).toISOString(),
      nextAttempt: new Date(next).toISOString(),
      lastError: meta.lastError ?? '',
    });
  }
  return out;
}

/** Next attempt now (a delayed job is promoted). False when the message is not waiting. */
export async function flushMessage(queues: Queues, id: string): Promise<boolean> {
  const job = await queues.get('relay').getJob(id);
  if (!job || !(await job.isDelayed())) return false;
  await job.promote();
  return true;
}

/** Drops a waiting message without a DSN (operator's decision): job, state and spool file. */
export async function deleteMessage(
  deps: { state: RelayState; spool: Spool; queues: Queues },
  id: string,
): Promise<boolean> {
  const job = await deps.queues.get('relay').getJob(id);
  if (job && (await job.isActive())) return false;
  await job?.remove();
  await deps.state.forget(id);
  await deps.spool.remove(id).catch((err: unknown) => {
    if (!(err instanceof SpoolError)) throw err;
  });
  return true;
}
