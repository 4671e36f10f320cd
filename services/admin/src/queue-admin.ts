// Read and act on the catalog's BullMQ queues for operators: counts, jobs with
// their last error and next attempt, retry, delete, and flush (Postfix
// `postqueue -s` semantics: try deferred mail for a domain now).

import { catalog, type Job, type JobName, type Queues, type Spool } from '@postamt/queue';
import type { Redis } from 'ioredis';

export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const QUEUE_NAMES = Object.keys(catalog) as JobName[];

export interface JobView {
  id: string;
  name: string;
  state: string;
  data: Record<string, unknown>;
  attemptsMade: number;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  /** When the job runs next (delayed jobs); null when not scheduled. */
  nextAttemptAt: string | null;
}

export class QueueAdmin {
  constructor(
    private readonly queues: Queues,
    private readonly spool: Spool,
    private readonly redis: Redis,
  ) {}

  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const n of QUEUE_NAMES) {
      out[n] = await this.queues
        .get(n)
        .getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'completed');
    }
    return out;
  }

  private async nextAttempt(name: JobName, job: Job): Promise<string | null> {
    const q = this.queues.get(name);
    // BullMQ scores delayed jobs as timestamp * 0x1000 + sequence.
    const score = await this.redis.zscore(q.keys.delayed as string, job.id as string);
    return score === null ? null : new Date(Math.floor(Number(score) / 0x1000)).toISOString();
  }

  async view(name: JobName, job: Job, state?: string): Promise<JobView> {
    const s = state ?? (await job.getState());
    return {
      id: job.id as string,
      name: job.name,
      state: s,
      data: job.data as Record<string, unknown>,
      attemptsMade: job.attemptsMade,
      attempts: job.opts.attempts ?? 1,
      lastError: job.failedReason || null,
      createdAt: new Date(job.timestamp).toISOString(),
      nextAttemptAt: s === 'delayed' ? await this.nextAttempt(name, job) : null,
    };
  }

  async list(name: JobName, states: JobState[], limit: number, domain?: string): Promise<JobView[]> {
    const out: JobView[] = [];
    for (const state of states) {
      const jobs = await this.queues.get(name).getJobs([state], 0, Math.max(0, limit - 1), true);
      for (const job of jobs) {
        if (!job || (domain && !jobTouchesDomain(job, domain))) continue;
        out.push(await this.view(name, job, state));
      }
    }
    return out.slice(0, limit);
  }

  async get(name: JobName, id: string): Promise<Job | null> {
    return (await this.queues.get(name).getJob(id)) ?? null;
  }

  /** Runs a failed or delayed job now. */
  async retry(_name: JobName, job: Job): Promise<'retried' | 'promoted' | 'not-retriable'> {
    const state = await job.getState();
    if (state === 'failed') {
      await job.retry('failed');
      return 'retried';
    }
    if (state === 'delayed') {
      await job.promote();
      return 'promoted';
    }
    return 'not-retriable';
  }

  /** Removes the job and, for filter and relay jobs, its spool file (`postsuper -d`). */
  async remove(name: JobName, job: Job): Promise<void> {
    await job.remove();
    const spoolId = (job.data as { spoolId?: unknown }).spoolId;
    if (name !== 'learn' && typeof spoolId === 'string') await this.spool.remove(spoolId).catch(() => {});
  }

  /** Retries every failed and delayed relay job with a recipient in `domain` (all when undefined). */
  async flush(domain?: string): Promise<{ retried: number; promoted: number }> {
    const result = { retried: 0, promoted: 0 };
    const q = this.queues.get('relay');
    for (const job of await q.getJobs(['failed', 'delayed'], 0, -1, true)) {
      if (!job || (domain && !jobTouchesDomain(job, domain))) continue;
      const r = await this.retry('relay', job).catch(() => 'not-retriable' as const);
      if (r === 'retried') result.retried++;
      if (r === 'promoted') result.promoted++;
    }
    return result;
  }

  /** Deletes every job of a queue that has a recipient in `domain`. */
  async purgeDomain(name: JobName, domain: string): Promise<number> {
    let n = 0;
    const q = this.queues.get(name);
    for (const job of await q.getJobs(['waiting', 'delayed', 'failed', 'prioritized'], 0, -1, true)) {
      if (!job || !jobTouchesDomain(job, domain)) continue;
      await this.remove(name, job).then(
        () => n++,
        () => {},
      );
    }
    return n;
  }
}

function jobTouchesDomain(job: Job, domain: string): boolean {
  const d = domain.toLowerCase();
  const data = job.data as { recipients?: unknown; user?: unknown };
  const list = Array.isArray(data.recipients)
    ? data.recipients
    : typeof data.user === 'string'
      ? [data.user]
      : [];
  return list.some((r) => typeof r === 'string' && r.toLowerCase().endsWith(`@${d}`));
}
