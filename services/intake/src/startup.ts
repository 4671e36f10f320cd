// What runs once per intake instance at start: the seed file (before any
// listener opens) and the spool sweep (beside the listeners). A single process
// runs them itself; with workers only the supervisor does (two sweeps at once
// could queue one file twice).
import { applySeed, type Directory, readSeedFile } from '@postamt/directory';
import type { Logger } from '@postamt/observability';
import { type Queues, type Spool, sweepSpool } from '@postamt/queue';
import type { IntakeConfig } from './config.js';

export interface StartupDeps {
  directory: Directory;
  spool: Spool;
  queues: Queues;
  logger: Logger;
}

export async function applySeedFile(config: IntakeConfig, d: StartupDeps): Promise<void> {
  if (!config.seed) return;
  const counts = await applySeed(d.directory, readSeedFile(config.seed));
  d.logger.info(counts, 'seed applied');
}

/**
 * Re-queues spool files that have no job and removes temp files of dead
 * processes (packages/queue sweep): files younger than sweepMinAge may still
 * belong to a live intake process, so they are left alone.
 */
export async function sweep(config: IntakeConfig, d: StartupDeps): Promise<void> {
  if (!config.sweepOnStart) return;
  const swept = await sweepSpool(d.spool, d.queues, { minAgeMs: config.sweepMinAge });
  if (swept.requeued.length || swept.tmpRemoved.length || swept.partialRemoved.length)
    d.logger.warn(swept, 'spool sweep re-queued or removed files');
}
