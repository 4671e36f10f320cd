// One learn job: TELL spamd that a stored message is spam or ham (Bayes,
// `Set: local`), as IMAP asks when a user moves mail into or out of Junk.
// It goes to the user's own store and to the site-wide one (the prior for
// users who have trained too little, spam-user.ts); the user's training count
// is recorded once their store has it. spamd trouble throws so the queue
// retries (TELL is idempotent); a message that is gone (expunged before we
// got to it) is nothing to learn.
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { addressKey } from '@postamt/directory';
import type { Logger } from '@postamt/observability';
import type { JobPayload } from '@postamt/queue';
import type { SpamdClient } from '@postamt/scanners';
import { learnUsers, type SpamUsers } from './spam-user.js';

export interface LearnDeps {
  spamd: SpamdClient;
  spamUsers: SpamUsers;
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
  // The same key the filter scans with (Directory user keys are lowercased addresses).
  const user = addressKey(job.user) ?? job.user;
  const policy = deps.spamUsers.policy;
  let learned = false;
  for (const store of learnUsers(policy, user)) {
    const r = await deps.spamd.tell(message, { messageClass: job.as, set: ['local'], user: store });
    if (r.status === 'error') throw new LearnFailed(`spamd TELL failed: ${r.reason} ${r.detail}`);
    if (store === user) {
      learned = r.didSet.includes('local');
      await deps.spamUsers.counts.record(user, message, job.as);
    }
    if (store === undefined) learned = r.didSet.includes('local');
  }
  deps.logger.info({ user, as: job.as, learned }, 'learned');
  return { kind: learned ? 'learned' : 'already-known' };
}
