// A circuit breaker for a scanner: after `threshold` failures in a row it
// opens and answers at once with an error value for `cooldownMs`, so a dead or
// black-holed scanner costs each job nothing instead of a connect timeout;
// then one trial call is let through (half-open) and its result closes or
// re-opens the circuit. The breaker never turns a failure into a verdict.

export interface BreakerOptions {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(opts: BreakerOptions = {}) {
    this.threshold = opts.threshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.failures < this.threshold) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Runs `call` unless the circuit is open; `failed` says whether a result
   * counts as a failure, `whenOpen` makes the error value returned instead.
   */
  async run<T>(call: () => Promise<T>, failed: (r: T) => boolean, whenOpen: () => T): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.trialInFlight)) return whenOpen();
    const trial = state === 'half-open';
    if (trial) this.trialInFlight = true;
    try {
      const r = await call();
      if (failed(r)) {
        this.failures++;
        if (this.failures >= this.threshold) this.openedAt = this.now();
      } else this.failures = 0;
      return r;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }
}
