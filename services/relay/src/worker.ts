// The BullMQ worker for the `relay` queue. A job is one spooled message; its id
// stays the spool id for its whole life. A temporary failure moves the same job
// back to `delayed` until the next attempt (so the intake's start-up sweep sees
// the message is in the relay's hands), rather than failing it: the catalog's
// single BullMQ attempt is only for crashes, and stalled jobs (a relay killed
// mid-delivery) are taken over by another worker after the lock expires.
import { catalog, type Job, type Redis, SpoolError, Worker } from '@postamt/queue';
import { DelayedError } from 'bullmq';
import { type RelayDeps, relayMessage } from './relay-message.js';

/** Retry delay after an unexpected error (Redis, disk): not a verdict on the message. */
const ERROR_RETRY_MS = 60_000;

export interface RelayWorkerOptions {
  connection: Redis;
  concurrency: number;
  lockMs: number;
}

export function startRelayWorker(deps: RelayDeps, o: RelayWorkerOptions): Worker {
  const log = deps.logger;
  const worker = new Worker(
    catalog.relay.queue,
    async (job: Job, token?: string) => {
      const data = catalog.relay.schema.parse(job.data);
      deps.metrics?.active.inc();
      try {
        const result = await relayMessage(deps, data.spoolId, data.recipients);
        if (result.kind === 'done') {
          deps.metrics?.jobs.inc({ result: 'done' });
          return;
        }
        deps.metrics?.jobs.inc({ result: 'retry' });
        await job.moveToDelayed(result.at, token);
      } catch (err) {
        deps.metrics?.jobs.inc({ result: 'error' });
        if (err instanceof SpoolError && err.code === 'corrupt') {
          // Nothing can be sent from a corrupt file; the failed job stays for an operator.
          log.error({ err, queueId: data.spoolId }, 'spool file corrupt');
          throw err;
        }
        log.error({ err, queueId: data.spoolId }, 'relay attempt failed unexpectedly; retrying later');
        await job.moveToDelayed(Date.now() + ERROR_RETRY_MS, token);
      } finally {
        deps.metrics?.active.dec();
      }
      throw new DelayedError();
    },
    {
      connection: o.connection,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: Math.max(1000, Math.floor(o.lockMs / 2)),
      // A message whose relay keeps dying is still never dropped by BullMQ.
      maxStalledCount: 1000,
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'relay worker error'));
  return worker;
}
