// Start-up sweep. Redis may lose the last second of writes (append-only
// `everysec`), so a message can be on disk with no job. The spool file is the
// source of truth: any committed file without a filter job is queued again.
// Adding is idempotent (job id = spool id), so racing intakes do no harm. A
// file torn by a crash in its one synced write was never acknowledged (and has
// no job): it is removed, not queued.

import { spoolIdTime } from './ids.js';
import type { Queues } from './queues.js';
import type { Spool } from './spool.js';

export interface SweepResult {
  requeued: string[];
  tmpRemoved: string[];
  /** Files a crashed writer left incomplete, removed. */
  partialRemoved: string[];
}

export async function sweepSpool(
  spool: Spool,
  queues: Queues,
  opts: { minAgeMs?: number } = {},
): Promise<SweepResult> {
  // Younger files may belong to a live intake that has not added its job yet.
  const minAgeMs = opts.minAgeMs ?? 30_000;
  const tmpRemoved = await spool.removeStaleTmp();
  const requeued: string[] = [];
  const partialRemoved: string[] = [];
  const now = Date.now();
  for (const id of await spool.list()) {
    if (now - spoolIdTime(id) < minAgeMs) continue;
    if (await queues.has('filter', id)) continue;
    if (await queues.has('relay', id)) continue;
    if (!(await spool.isComplete(id))) {
      await spool.remove(id);
      partialRemoved.push(id);
      continue;
    }
    await queues.add('filter', id, { spoolId: id });
    requeued.push(id);
  }
  return { requeued, tmpRemoved, partialRemoved };
}
