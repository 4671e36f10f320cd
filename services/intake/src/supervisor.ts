// With POSTAMT_SMTP_WORKERS above 1 the intake's first process is this
// supervisor: Redis, spool, directory → seed and spool sweep (once, here) →
// N workers (worker-pool.ts; each a full intake, service.ts) → the one
// health/metrics listener for all of them → graceful stop.
//
// /readyz is ready when Redis answers here and every worker is listening and
// ready itself; /metrics sums the workers' registries, each series labelled
// with the worker's slot (a restarted worker keeps its slot, so its counters
// restart like a restarted process's), plus the supervisor's own counters.

import { Directory } from '@postamt/directory';
import {
  AggregatorRegistry,
  Counter,
  createLogger,
  Gauge,
  onShutdown,
  Registry,
  startOpsServer,
} from '@postamt/observability';
import { connectRedis, pingRedis, Queues, Spool, waitRedisReady } from '@postamt/queue';
import type { WorkerReadiness } from './cluster-messages.js';
import type { IntakeConfig } from './config.js';
import { applySeedFile, sweep } from './startup.js';
import { WorkerPool } from './worker-pool.js';

/** How long /readyz and /metrics wait for a worker's answer. */
const ASK_TIMEOUT_MS = 1500;

/** The registry the ops server reads: the workers' metrics, summed, then the supervisor's. */
class ClusterRegistry extends Registry {
  constructor(
    private readonly pool: WorkerPool,
    private readonly own: Registry,
  ) {
    super();
  }

  override async metrics(): Promise<string> {
    const answers = await this.pool.askAll('metrics', ASK_TIMEOUT_MS);
    const perWorker = answers.flatMap((a) => (a.body ? [a.body as object[]] : []));
    // biome-ignore lint/suspicious/noExplicitAny: prom-client's MetricObjectWithValues type is not exported usefully
    const summed = AggregatorRegistry.aggregate(perWorker as any);
    return `${await summed.metrics()}\n${await this.own.metrics()}`;
  }
}

export async function runSupervisor(config: IntakeConfig): Promise<void> {
  const logger = createLogger({ service: 'intake', level: config.logLevel, format: config.logFormat }).child({
    worker: 'supervisor',
    pid: process.pid,
  });
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = new Queues(connectRedis(config.redisUrl, 'worker'));
  const directory = new Directory(redis);
  const spool = new Spool(config.data);
  await spool.init();
  await waitRedisReady(redis);
  const deps = { directory, spool, queues, logger };
  await applySeedFile(config, deps);
  // Beside the workers, not before them (see service.ts): a large spool must not delay accepting mail.
  sweep(config, deps).catch((err: Error) => logger.error({ err: err.message }, 'spool sweep failed'));

  const own = new Registry();
  own.setDefaultLabels({ service: 'intake' });
  const restarts = new Counter({
    name: 'postamt_intake_worker_restarts_total',
    help: 'Intake workers that died and were started again',
    registers: [own],
  });

  // A dead worker may leave a spool file without a job (it died before it
  // answered 250) and a temp file: sweep once its files are old enough to be
  // told apart from the live workers' (sweepMinAge), as a restart would.
  let sweepTimer: NodeJS.Timeout | null = null;
  const sweepLater = () => {
    if (sweepTimer || !config.sweepOnStart) return;
    sweepTimer = setTimeout(() => {
      sweepTimer = null;
      sweep(config, deps).catch((err: Error) => logger.error({ err: err.message }, 'spool sweep failed'));
    }, config.sweepMinAge + 1000);
    sweepTimer.unref();
  };

  const pool = new WorkerPool({
    size: config.smtpWorkers,
    logger,
    onDeath: () => {
      restarts.inc();
      sweepLater();
    },
  });
  new Gauge({
    name: 'postamt_intake_workers_ready',
    help: 'Intake workers listening and ready',
    registers: [own],
    collect() {
      this.set(pool.readyCount);
    },
  });
  logger.info({ workers: config.smtpWorkers }, 'starting workers');
  try {
    await pool.start();
  } catch (err) {
    await pool.stop(1000);
    throw err;
  }

  let warnings: string[] = [];
  const workersReady = async (): Promise<string | null> => {
    const answers = await pool.askAll('readyz', ASK_TIMEOUT_MS);
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const a of answers) {
      const r = a.body as WorkerReadiness | undefined;
      if (r?.warning) seen.add(r.warning);
      if (!r) problems.push(`worker ${a.slot}: ${a.error}`);
      else if (!r.ready)
        problems.push(
          `worker ${a.slot}: ${Object.entries(r.checks)
            .filter(([, v]) => v !== 'ok')
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
    }
    warnings = [...seen];
    return problems.length ? problems.join('; ') : null;
  };

  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry: new ClusterRegistry(pool, own),
    checks: { redis: () => pingRedis(redis), workers: workersReady },
    warnings: { clients: () => (warnings.length ? warnings.join('; ') : null) },
  });
  logger.info({ workers: config.smtpWorkers, metricsPort: ops.port }, 'all workers listening');

  onShutdown(
    logger,
    async (drainMs) => {
      if (sweepTimer) clearTimeout(sweepTimer);
      // Each worker drains within drainMs and then closes its own connections;
      // whatever is still running halfway through the remaining time is killed.
      await pool.stop(drainMs + (config.stopTimeout - drainMs) / 2);
      await ops.close();
      await queues.close();
      redis.disconnect();
    },
    config.stopTimeout,
  );
}
