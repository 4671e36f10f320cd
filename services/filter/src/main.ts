#!/usr/bin/env node
// filter: config → Redis, spool, directory → BullMQ worker on the filter queue
// → health/metrics → graceful stop (finish jobs in flight).
import { ConfigError } from '@postamt/config';
import { Directory } from '@postamt/directory';
import { Counter, createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { catalog, connectRedis, pingRedis, Queues, Spool, Worker } from '@postamt/queue';
import { loadFilterConfig } from './config.js';
import { processMessage } from './process-message.js';

async function main(): Promise<void> {
  const config = loadFilterConfig();
  const logger = createLogger({ service: 'filter', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'worker');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const spool = new Spool(config.data);
  await spool.init();
  const deps = {
    spool,
    queues: new Queues(redis),
    directory: new Directory(redis),
    dataDir: config.data,
    hostname: config.hostname,
    logger,
  };
  const registry = createRegistry('filter');
  const processed = new Counter({
    name: 'postamt_filter_messages_total',
    help: 'Messages processed by the filter, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const worker = new Worker(
    catalog.filter.queue,
    async (job) => {
      const { spoolId } = catalog.filter.schema.parse(job.data);
      const outcome = await processMessage(deps, spoolId);
      processed.inc({ outcome: outcome.kind });
      return outcome;
    },
    { connection: redis, concurrency: config.filterConcurrency },
  );
  worker.on('failed', (job, err) => logger.error({ queueId: job?.id, err }, 'filter job failed, will retry'));
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));

  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(redis) },
  });
  logger.info({ concurrency: config.filterConcurrency }, 'filter worker started');

  onShutdown(logger, async () => {
    await worker.close();
    await ops.close();
    await deps.queues.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`filter failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
