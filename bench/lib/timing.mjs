// Clocks and bounded waiting.
import { setTimeout as delay } from 'node:timers/promises';

/** Monotonic time in seconds. */
export function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Rejects if `promise` does not settle within `ms`. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `probe` (true = done) every `intervalMs` until `timeoutMs`; throws on
 * timeout. A probe error counts as "not yet", unless it carries `fatal: true`.
 */
export async function waitUntil(what, probe, { timeoutMs = 20_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() <= deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (err?.fatal) throw err;
      lastError = err;
    }
    await delay(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${lastError.message})` : ''}`,
  );
}

export { delay as sleep };

/** An error that stops `waitUntil` at once (e.g. the process being waited for died). */
export function fatal(message) {
  return Object.assign(new Error(message), { fatal: true });
}
