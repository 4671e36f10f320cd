// Retry schedule after a temporary failure, as in Postfix: the first retry
// soon, then doubling up to a ceiling, until the message is too old
// (maximal_queue_lifetime, 5 days by default) and what is left bounces.

export interface Schedule {
  minMs: number;
  maxMs: number;
  lifetimeMs: number;
}

/** Delay before attempt `attempt + 1`, after `attempt` (≥ 1) attempts failed. */
export function backoff(attempt: number, s: Schedule): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(s.maxMs, s.minMs * 2 ** exp);
}

/** When to try next: after the backoff, but never later than the expiry. */
export function nextAttempt(now: number, attempt: number, firstMs: number, s: Schedule): number {
  return Math.min(now + backoff(attempt, s), Math.max(firstMs + s.lifetimeMs, now + 1));
}

export function expired(now: number, firstMs: number, s: Schedule): boolean {
  return now - firstMs >= s.lifetimeMs;
}
