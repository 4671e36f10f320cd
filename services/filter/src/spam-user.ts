// Which spamd `User:` scores a message, and the training counts behind that
// choice: per-user Bayes with a site-wide prior.
//
// spamd keeps one Bayes store (and user_prefs) per `User:` (deploy/: spamd
// --virtual-config-dir=.../users/%u). SpamAssassin ignores a store until it
// holds bayes_min_spam_num spam and bayes_min_ham_num ham (200 each by
// default), so a user who has trained little would get no Bayes at all. Hence:
//   - every learn job is told to the user's store and to the site store;
//   - a message with exactly one local recipient (and no remote one) is scored
//     as that user once their store is past both minimums, else as the site user;
//   - any other message is scored once as the site user. Scanning per
//     recipient would multiply spamd's cost by the recipient count; amavisd
//     does the same (one SpamAssassin call per message with site-wide
//     settings), and per-recipient levels still apply to the one score.
// The counts live in Redis because spamd has no command that reports them.
// They count distinct messages per class (a re-classified message moves from
// one count to the other), so they follow what the store holds; auto-learn
// can only add to the real store, which makes the switch a little late, never early.
import { createHash } from 'node:crypto';
import type { Redis } from '@postamt/queue';

export interface BayesMinimum {
  spam: number;
  ham: number;
}

export interface SpamUserPolicy {
  /** false: no `User:` at all — spamd's one default store scores and learns everything. */
  perUser: boolean;
  /** The `User:` of the site-wide store; never an address, so no user can own it. */
  siteUser: string;
  /** Must equal spamd's bayes_min_spam_num / bayes_min_ham_num. */
  min: BayesMinimum;
}

export interface Trained {
  spam: number;
  ham: number;
}

/** The one pure rule: whose store scores a message. `undefined`: no `User:` header. */
export function chooseSpamUser(
  policy: SpamUserPolicy,
  soleLocal: string | undefined,
  trained: Trained | null,
): string | undefined {
  if (!policy.perUser) return undefined;
  if (soleLocal === undefined || trained === null) return policy.siteUser;
  return trained.spam >= policy.min.spam && trained.ham >= policy.min.ham ? soleLocal : policy.siteUser;
}

/** The stores a learn job is told to, in order. */
export function learnUsers(policy: SpamUserPolicy, user: string): Array<string | undefined> {
  if (!policy.perUser) return [undefined];
  return user === policy.siteUser ? [user] : [user, policy.siteUser];
}

/** Training counts per user: the store the filter reads and the learn worker writes. */
export interface TrainingCounts {
  get(user: string): Promise<Trained>;
  /** Records that `message` is now in `user`'s store as `as`. */
  record(user: string, message: Buffer, as: 'spam' | 'ham'): Promise<void>;
}

// KEYS[1]: digest → class, KEYS[2]: class → count. A message told twice
// counts once; told as the other class, it moves.
const RECORD = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev == ARGV[2] then return 0 end
if prev then redis.call('HINCRBY', KEYS[2], prev, -1) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return 1`;

export class RedisTrainingCounts implements TrainingCounts {
  constructor(private readonly redis: Redis) {}

  private keys(user: string): [string, string] {
    return [`filter:bayes:${user}:messages`, `filter:bayes:${user}:counts`];
  }

  async get(user: string): Promise<Trained> {
    const [spam, ham] = await this.redis.hmget(this.keys(user)[1], 'spam', 'ham');
    return { spam: Number(spam ?? 0), ham: Number(ham ?? 0) };
  }

  async record(user: string, message: Buffer, as: 'spam' | 'ham'): Promise<void> {
    const digest = createHash('sha256').update(message).digest('base64url');
    await this.redis.eval(RECORD, 2, ...this.keys(user), digest, as);
  }
}

/**
 * Counts remembered for `ttlMs`: a single-recipient message otherwise costs a
 * Redis round trip for numbers that change only when the user trains. What
 * this process records drops its entry at once; another process's training is
 * seen within `ttlMs` (the switch to the user's store comes that much later).
 */
export class CachedTrainingCounts implements TrainingCounts {
  private readonly cache = new Map<string, { at: number; trained: Trained }>();

  constructor(
    private readonly inner: TrainingCounts,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** Entries kept at most; the whole map is dropped past it. */
    private readonly maxEntries = 10_000,
  ) {}

  async get(user: string): Promise<Trained> {
    const hit = this.cache.get(user);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.trained;
    const trained = await this.inner.get(user);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(user, { at: this.now(), trained });
    return trained;
  }

  async record(user: string, message: Buffer, as: 'spam' | 'ham'): Promise<void> {
    this.cache.delete(user);
    await this.inner.record(user, message, as);
    this.cache.delete(user);
  }
}

/** The policy with its counts: what the filter and the learn worker hold. */
export class SpamUsers {
  constructor(
    readonly policy: SpamUserPolicy,
    readonly counts: TrainingCounts,
  ) {}

  /** The `User:` for a message with these (expanded) recipients. */
  async forMessage(localKeys: string[], remoteCount: number): Promise<string | undefined> {
    if (!this.policy.perUser) return undefined;
    const sole = localKeys.length === 1 && remoteCount === 0 ? localKeys[0] : undefined;
    return chooseSpamUser(this.policy, sole, sole === undefined ? null : await this.counts.get(sole));
  }
}
