// intake: Redis, spool, directory, seed → policy, TLS → MX listener, submission
// listeners (587 STARTTLS, 465 implicit TLS) → health/metrics → spool sweep → graceful stop.
// As one of the supervisor's workers (POSTAMT_SMTP_WORKERS > 1, supervisor.ts)
// the seed, the sweep and the health/metrics listener are the supervisor's:
// the worker answers its questions over the cluster channel instead.
import { Directory } from '@postamt/directory';
import { createLogger, createRegistry, onShutdown, readiness, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis, Queues, Spool, waitRedisReady } from '@postamt/queue';
import { ClientLimits } from '@postamt/smtp-server';
import { loadTls } from '@postamt/tls';
import { authHook } from './auth.js';
import { AuthLimiter } from './auth-limiter.js';
import { buildPolicy } from './build-policy.js';
import { ClusterClientLimits, SupervisorChannel } from './cluster-worker.js';
import type { IntakeConfig } from './config.js';
import { GatewayWatch } from './gateway-watch.js';
import { RedisPassedClients } from './passed-clients.js';
import { startMxServer } from './server.js';
import { SharedClientLimits } from './shared-limits.js';
import { applySeedFile, sweep } from './startup.js';
import { startSubmissionServers } from './submission.js';

/** A process of its own, or worker `slot` (1…N) of a supervisor. */
export type IntakeRole = { kind: 'single' } | { kind: 'worker'; slot: number };

/** Starts every part of the intake from a validated config; stops them on SIGTERM. */
export async function runIntake(config: IntakeConfig, role: IntakeRole = { kind: 'single' }): Promise<void> {
  const rootLogger = createLogger({ service: 'intake', level: config.logLevel, format: config.logFormat });
  const logger =
    role.kind === 'worker' ? rootLogger.child({ worker: role.slot, pid: process.pid }) : rootLogger;
  const channel = role.kind === 'worker' ? new SupervisorChannel(logger) : null;
  // Auto-pipelining: the commands of all sessions issued in one turn of the event loop
  // go to Redis in one write (one syscall and wake-up each way instead of one per command).
  // Not on the queue connection: BullMQ defines its ~60 scripts there, and ioredis copies
  // them all into every pipeline it builds, which costs more than the writes it saves.
  const redis = connectRedis(config.redisUrl, 'producer', { enableAutoPipelining: true });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = new Queues(connectRedis(config.redisUrl, 'worker'));
  const directory = new Directory(redis);
  const spool = new Spool(config.data, {
    inlineMetadata: config.spoolInlineMetadata,
    commitInPlace: config.spoolInlineMetadata,
  });
  await spool.init();
  // The producer connection refuses commands until it is connected (no offline queue).
  await waitRedisReady(redis);

  const startup = { directory, spool, queues, logger };
  if (!channel) await applySeedFile(config, startup);

  const tls = await loadTls({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    dataDir: config.data,
    hostname: config.hostname,
  });
  if (tls.selfSigned) logger.warn('no POSTAMT_TLS_CERT/KEY: using a self-signed certificate');
  const registry = createRegistry('intake');
  // The supervisor sums the workers' series: the slot keeps them apart.
  if (role.kind === 'worker') registry.setDefaultLabels({ service: 'intake', worker: String(role.slot) });
  const policy = buildPolicy({ config, directory, redis, registry, logger });
  const gateway = new GatewayWatch(
    {
      warnAfter: config.smtpGatewayWarnAfter,
      networks: config.smtpGatewayNetworks,
      proxyProtocol: config.proxyProtocol,
    },
    logger.child({ component: 'gateway-watch' }),
  );
  const mx = await startMxServer({
    policy,
    tls,
    spool,
    queues,
    directory,
    logger,
    hostname: config.hostname,
    enqueueTimeoutMs: config.enqueueTimeoutMs,
    port: config.smtpPort,
    bind: config.bind,
    maxMessageSize: config.maxMessageSize,
    maxRecipients: config.maxRecipients,
    maxClients: config.maxClients,
    proxyProtocol: config.proxyProtocol,
    pregreetWaitMs: config.smtpPregreetWait,
    pregreetExceptions: config.smtpPregreetExceptions,
    passedClients: new RedisPassedClients(redis, config.smtpPregreetRemember),
    limits: {
      connections: config.smtpClientConnectionLimit,
      connectionRate: config.smtpClientConnectionRateLimit,
      messages: config.smtpClientMessageRateLimit,
      recipients: config.smtpClientRecipientRateLimit,
      windowMs: config.smtpClientRateWindow,
      exceptions: config.smtpLimitExceptions,
    },
    makeLimiter: (limits) => {
      const log = logger.child({ component: 'client-limits' });
      if (!channel) return new SharedClientLimits(redis, limits, log);
      // Concurrency is counted by the supervisor for all workers; rates stay in Redis.
      const rates = new SharedClientLimits(redis, { ...limits, connections: 0 }, log);
      return new ClusterClientLimits('mx', limits, rates, channel);
    },
    onClient: (ip) => gateway.observe(ip),
    maxErrors: config.smtpMaxErrors,
    commandTimeoutMs: config.smtpCommandTimeout,
    dataTimeoutMs: config.smtpDataTimeout,
    bareNewlineDot: config.smtpBareNewlineDot,
  });

  const submission = await startSubmissionServers({
    directory,
    tls,
    spool,
    queues,
    logger,
    hostname: config.hostname,
    enqueueTimeoutMs: config.enqueueTimeoutMs,
    onAuth: authHook({
      directory,
      limiter: new AuthLimiter(redis, {
        maxFailures: { ip: config.submissionAuthMaxFailuresPerIp, account: config.submissionAuthMaxFailures },
        windowMs: config.submissionAuthFailureWindow,
        lockoutMs: config.submissionAuthLockout,
        lockoutMaxMs: config.submissionAuthLockoutMax,
      }),
      failureDelayMs: config.submissionAuthFailureDelay,
      registry,
      logger,
    }),
    senderPolicy: config.submissionSenderPolicy,
    port: config.submissionPort === 'off' ? null : config.submissionPort,
    implicitPort: config.submissionsPort === 'off' ? null : config.submissionsPort,
    bind: config.bind,
    proxyProtocol: config.submissionProxyProtocol,
    maxMessageSize: config.maxMessageSize,
    maxRecipients: config.maxRecipients,
    maxClients: config.maxClients,
    connectionLimit: config.smtpClientConnectionLimit,
    makeLimiter: channel
      ? (listener, limits) =>
          new ClusterClientLimits(listener, limits, new ClientLimits({ ...limits, connections: 0 }), channel)
      : undefined,
    maxErrors: config.smtpMaxErrors,
    commandTimeoutMs: config.smtpCommandTimeout,
    dataTimeoutMs: config.smtpDataTimeout,
  });

  const stopListeners = async (drainMs: number) => {
    await Promise.all([mx.close(drainMs), submission.close(drainMs)]);
  };
  const closeClients = async () => {
    await queues.close();
    redis.disconnect();
  };

  if (channel) {
    channel.serve({
      readyz: async () => ({
        ...(await readiness({ redis: () => pingRedis(redis) })),
        warning: gateway.warning(),
      }),
      metrics: () => registry.getMetricsAsJSON(),
    });
    channel.ready();
    onShutdown(
      logger,
      async (drainMs) => {
        await stopListeners(drainMs);
        await closeClients();
      },
      config.stopTimeout,
    );
    return;
  }

  // Last, so /readyz answers only once the listener is up.
  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(redis) },
    warnings: { clients: () => gateway.warning() },
  });

  onShutdown(
    logger,
    async (drainMs) => {
      await stopListeners(drainMs);
      await ops.close();
      await closeClients();
    },
    config.stopTimeout,
  );

  // The sweep runs beside the listeners, not before them: with a large spool
  // (a filter backlog) it can take minutes, and new mail is never its concern —
  // files younger than sweepMinAge are skipped, and files with a job are left alone.
  sweep(config, startup).catch((err: Error) => logger.error({ err: err.message }, 'spool sweep failed'));
}
