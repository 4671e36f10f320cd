// Graceful stop for a service's main.ts: on SIGTERM or SIGINT run the stop
// steps in order, once, within the stop timeout (POSTAMT_STOP_TIMEOUT), then exit.
import type { Logger } from 'pino';

/**
 * The part of the stop timeout that listeners and workers may spend letting
 * sessions and jobs in flight finish; the rest (a fifth, at most 5 s) is kept
 * for closing Redis and the health listener, so the process exits by itself
 * before the deadline cuts it.
 */
export function drainTime(stopTimeoutMs: number): number {
  return Math.max(0, stopTimeoutMs - Math.min(5_000, stopTimeoutMs / 5));
}

/**
 * `stop` gets the drain time (see drainTime). If it has not finished when the
 * stop timeout passes, the process exits with 1 anyway: the orchestrator's
 * grace period is set longer than the timeout, so it never has to SIGKILL.
 */
export function onShutdown(
  logger: Logger,
  stop: (drainMs: number) => Promise<void>,
  stopTimeoutMs = 30_000,
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const drainMs = drainTime(stopTimeoutMs);
    logger.info({ signal, stopTimeoutMs, drainMs }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ stopTimeoutMs }, 'stop timeout passed, exiting');
      logger.flush?.();
      process.exit(1);
    }, stopTimeoutMs);
    timer.unref();
    stop(drainMs).then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        logger.flush?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
