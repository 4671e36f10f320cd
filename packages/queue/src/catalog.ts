// The one catalog of queue jobs: name → payload schema and retry policy.
// Producers and workers both import it, so a payload that does not match the
// schema is refused at the producer, not discovered in a worker.
//
// BullMQ delivers at least once: every consumer must be idempotent, and the job
// id is the spool id so that adding the same message twice is a no-op.
import { z } from 'zod';

export const filterJob = z.object({ spoolId: z.string() });

export const relayJob = z.object({
  spoolId: z.string(),
  /** Remote recipients this job is responsible for. */
  recipients: z.array(z.string()).min(1),
});

export const learnJob = z.object({
  user: z.string(),
  /** Path of the message file relative to the data volume. */
  file: z.string(),
  as: z.enum(['spam', 'ham']),
});

export const catalog = {
  filter: {
    queue: 'filter',
    schema: filterJob,
    // Scanner outages are retried for about a day (5 s doubling: 14 waits ≈ 23 h)
    // before the last attempt sends the message to quarantine.
    attempts: 15,
    backoff: { type: 'exponential' as const, delay: 5_000 },
  },
  relay: {
    queue: 'relay',
    schema: relayJob,
    attempts: 1,
    backoff: { type: 'fixed' as const, delay: 60_000 },
  },
  learn: {
    queue: 'learn',
    schema: learnJob,
    attempts: 5,
    backoff: { type: 'exponential' as const, delay: 10_000 },
  },
} as const;

export type JobName = keyof typeof catalog;
export type JobPayload<N extends JobName> = z.infer<(typeof catalog)[N]['schema']>;

export function queueName(name: JobName): string {
  return catalog[name].queue;
}
