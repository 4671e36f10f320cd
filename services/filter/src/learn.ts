// One learn job: TELL spamd that a stored message is spam or ham (Bayes,
// `Set: local`), as IMAP asks when a user moves mail into or out of Junk.
// spamd trouble throws so the queue retries; a message that is gone (expunged
// before we got to it) is nothing to learn.
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { Logger } from '@postamt/observability';
import type { JobPayload } from '@postamt/queue';
import type { SpamdClient } from '@postamt/scanners';

export interface LearnDeps {
  spamd: SpamdClient;
  dataDir: string;
  logger: Logger;
}

export type LearnOutcome = { kind: 'learned' | 'already-known' | 'gone' };

export class LearnFailed extends Error {
  override name = 'LearnFailed';
}

export async function processLearn(deps: LearnDeps, job: JobPayload<'learn'>): Promise<LearnOutcome> {
  const path = resolve(deps.dataDir, job.file);
  const rel = relative(deps.dataDir, path);
  if (rel.startsWith('..') || rel.startsWith('/'))
    throw new LearnFailed('learn file outside the data volume');
  let message: Buffer;
  try {
    message = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  const r = await deps.spamd.tell(message, { messageClass: job.as, set: ['local'], user: job.user });
  if (r.status === 'error') throw new LearnFailed(`spamd TELL failed: ${r.reason} ${r.detail}`);
  const learned = r.didSet.includes('local');
  deps.logger.info({ user: job.user, as: job.as, learned }, 'learned');
  return { kind: learned ? 'learned' : 'already-known' };
}
