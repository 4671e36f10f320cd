// Typed producers for the catalog's queues.
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalog, type JobName, type JobPayload } from './catalog.js';

export class Queues {
  private readonly queues = new Map<JobName, Queue>();

  constructor(private readonly connection: Redis) {}

  get(name: JobName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(catalog[name].queue, { connection: this.connection });
      q.on('error', () => {}); // connection errors surface on add(), where they are handled
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Adds a job whose id is `jobId` (the spool id). Adding an id that exists is a
   * no-op in BullMQ, which makes producers idempotent.
   */
  async add<N extends JobName>(
    name: N,
    jobId: string,
    payload: JobPayload<N>,
    opts: { delayMs?: number } = {},
  ): Promise<Job> {
    const spec = catalog[name];
    const data = spec.schema.parse(payload);
    return this.get(name).add(name, data, {
      jobId,
      attempts: spec.attempts,
      backoff: spec.backoff,
      delay: opts.delayMs,
      removeOnComplete: true,
      removeOnFail: false,
    });
  }

  async has(name: JobName, jobId: string): Promise<boolean> {
    return (await this.get(name).getJob(jobId)) != null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
