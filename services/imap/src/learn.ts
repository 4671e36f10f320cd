// Learning from the user's hands (issue 8): mail moved or copied into Junk is
// queued as spam, mail taken out of Junk into any folder but Trash as ham.
// The job names the file in its new folder, relative to the data volume
// (@postamt/queue's learn contract); the filter's learn worker tells spamd.
// Queueing is best effort: a Redis failure is logged, never fails the COPY.
import { SPECIAL_USE } from '@postamt/maildir';
import type { Logger } from '@postamt/observability';
import type { JobPayload } from '@postamt/queue';
import type { CopyResult, MailStore } from './store.js';

export type LearnQueue = (jobId: string, payload: JobPayload<'learn'>) => Promise<unknown>;

export interface Learner {
  transferred(user: string, store: MailStore, from: string, to: string, res: CopyResult): Promise<void>;
}

const use = (folder: string) => SPECIAL_USE[folder] ?? null;

/** spam, ham, or nothing to learn for a transfer between these folders. */
export function verdictOf(from: string, to: string): 'spam' | 'ham' | null {
  if (use(to) === '\\Junk' && use(from) !== '\\Junk') return 'spam';
  if (use(from) === '\\Junk' && use(to) !== '\\Junk' && use(to) !== '\\Trash') return 'ham';
  return null;
}

export function queueLearner(add: LearnQueue, logger: Logger): Learner {
  return {
    async transferred(user, store, from, to, res) {
      const as = verdictOf(from, to);
      if (!as || !res.pairs.length) return;
      try {
        const files = await store.files(
          to,
          res.pairs.map(([, d]) => d),
        );
        for (const [uid, file] of files) {
          // One job per message in its new place; BullMQ job ids may not contain ':'.
          await add(`${as}.${res.uidValidity}.${uid}.${user}`, { user, file, as });
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message, user, as }, 'learn job not queued');
      }
    },
  };
}

/** For tools and tests that do not learn. */
export const noLearning: Learner = { transferred: async () => {} };
