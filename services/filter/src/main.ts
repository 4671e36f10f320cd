#!/usr/bin/env node
// filter: config → Redis, spool, directory, scanner clients → BullMQ workers on
// the filter and learn queues → health/metrics → graceful stop (finish jobs in flight).
import { ConfigError } from '@postamt/config';
import { Directory } from '@postamt/directory';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { catalog, connectRedis, pingRedis, Queues, Spool, Worker } from '@postamt/queue';
import { CircuitBreaker, ClamdClient, SpamdClient } from '@postamt/scanners';
import { Authenticator, dnsResolver } from './authenticate.js';
import { loadFilterConfig } from './config.js';
import { processLearn } from './learn.js';
import { filterMetrics } from './metrics.js';
import { processMessage } from './process-message.js';
import { RedisBounceIds } from './refuse-submission.js';
import { CachedTrainingCounts, RedisTrainingCounts, SpamUsers } from './spam-user.js';
import { RedisVerdictStore } from './verdict-store.js';

/** How long a user's training counts are reused before Redis is asked again. */
const TRAINING_COUNTS_TTL_MS = 30_000;

async function main(): Promise<void> {
  const config = loadFilterConfig();
  const logger = createLogger({ service: 'filter', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'worker');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  // Spool metadata calls on the spot (µs each, where the thread pool costs ~50 µs a
  // trip): the filter serves no clients, so a slow disk stalls only jobs waiting for it.
  const spool = new Spool(config.data, { inlineMetadata: true });
  await spool.init();
  const deadlines = {
    connectMs: config.scanConnectTimeout,
    idleMs: config.scanIdleTimeout,
    totalMs: config.scanTimeout,
  };
  const scanners = {
    clamd: new ClamdClient({ ...config.clamd, deadlines, maxBytes: config.clamdMaxBytes }),
    spamd: new SpamdClient({ ...config.spamd, deadlines, maxBytes: config.spamdMaxBytes }),
    breakers: {
      clamd: new CircuitBreaker({
        threshold: config.scanBreakerThreshold,
        cooldownMs: config.scanBreakerCooldown,
      }),
      spamd: new CircuitBreaker({
        threshold: config.scanBreakerThreshold,
        cooldownMs: config.scanBreakerCooldown,
      }),
    },
    auth: config.authChecks ? new Authenticator(dnsResolver(config.dnsServers), config.hostname) : null,
  };
  const deps = {
    spool,
    queues: new Queues(redis),
    directory: new Directory(redis),
    scanners,
    verdicts: new RedisVerdictStore(redis),
    levels: {
      tag: config.spamTagLevel,
      tag2: config.spamTag2Level,
      kill: config.spamKillLevel,
      limitAction: config.scanLimitAction,
      dmarcRejectAction: config.dmarcRejectAction,
      bannedExtensions: config.bannedExtensions,
      subjectTag: config.spamSubjectTag,
    },
    levelOverrides: config.spamLevels,
    dataDir: config.data,
    hostname: config.hostname,
    logger,
    bounceIds: new RedisBounceIds(redis),
    spamUsers: new SpamUsers(
      {
        perUser: config.spamdPerUser,
        siteUser: config.spamdSiteUser,
        min: { spam: config.bayesMinSpam, ham: config.bayesMinHam },
      },
      new CachedTrainingCounts(new RedisTrainingCounts(redis), TRAINING_COUNTS_TTL_MS),
    ),
  };
  const registry = createRegistry('filter');
  const metrics = filterMetrics(registry, deps.queues);

  const worker = new Worker(
    catalog.filter.queue,
    async (job) => {
      const { spoolId } = catalog.filter.schema.parse(job.data);
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // BullMQ counts every start, also after a stall (a worker that died mid-job).
      const firstStart = job.attemptsStarted <= 1;
      const outcome = await processMessage(deps, spoolId, { finalAttempt, firstStart });
      metrics.done(spoolId, outcome.kind, outcome.kind === 'done' ? outcome.verdict : 'none');
      return outcome;
    },
    { connection: redis, concurrency: config.filterConcurrency },
  );
  worker.on('failed', (job, err) =>
    logger.error({ queueId: job?.id, err: err.message }, 'filter job failed, will retry'),
  );
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));

  const learner = new Worker(
    catalog.learn.queue,
    async (job) =>
      processLearn(
        { spamd: scanners.spamd, spamUsers: deps.spamUsers, dataDir: config.data, logger },
        catalog.learn.schema.parse(job.data),
      ),
    { connection: redis, concurrency: config.learnConcurrency },
  );
  learner.on('failed', (job, err) => logger.error({ jobId: job?.id, err: err.message }, 'learn job failed'));
  learner.on('error', (err) => logger.warn({ err: err.message }, 'learn worker error'));

  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: {
      redis: () => pingRedis(redis),
      // Mail is never delivered unscanned: without a scanner this worker is not ready.
      clamd: async () => ((await scanners.clamd.ping()) ? null : 'clamd does not answer'),
      spamd: async () => ((await scanners.spamd.ping()) ? null : 'spamd does not answer'),
    },
  });
  logger.info({ concurrency: config.filterConcurrency, levels: deps.levels }, 'filter worker started');

  onShutdown(
    logger,
    async () => {
      await Promise.all([worker.close(), learner.close()]);
      await ops.close();
      scanners.clamd.close();
      await deps.queues.close();
      redis.disconnect();
    },
    config.stopTimeout,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`filter failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
