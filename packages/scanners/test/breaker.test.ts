// The circuit breaker with a fake clock.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/breaker.js';

type R = { status: 'ok' | 'error'; via?: string };

describe('CircuitBreaker', () => {
  it('opens after N failures, fails fast, lets one trial through after the cooldown', async () => {
    let t = 0;
    const b = new CircuitBreaker({ threshold: 3, cooldownMs: 1000, now: () => t });
    let calls = 0;
    let next: R['status'] = 'error';
    const run = () =>
      b.run<R>(
        async () => {
          calls++;
          return { status: next };
        },
        (r) => r.status === 'error',
        () => ({ status: 'error', via: 'open' }),
      );
    for (let i = 0; i < 3; i++) expect(await run()).toEqual({ status: 'error' });
    expect(b.state).toBe('open');
    expect(await run()).toEqual({ status: 'error', via: 'open' });
    expect(calls).toBe(3);
    t = 1000;
    expect(b.state).toBe('half-open');
    expect(await run()).toEqual({ status: 'error' }); // the trial fails: open again
    expect(b.state).toBe('open');
    t = 2000;
    next = 'ok';
    expect(await run()).toEqual({ status: 'ok' });
    expect(b.state).toBe('closed');
    expect(calls).toBe(5);
  });
});
