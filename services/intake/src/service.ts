// intake: Redis, spool, directory → start-up sweep → policy, TLS → MX listener,
// submission listeners (587 STARTTLS, 465 implicit TLS) → health/metrics → graceful stop.
import { applySeed, Directory, readSeedFile } from '@postamt/directory';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis, Queues, Spool, sweepSpool, waitRedisReady } from '@postamt/queue';
import { loadTls } from '@postamt/tls';
import { authHook } from './auth.js';
import { AuthLimiter } from './auth-limiter.js';
import { buildPolicy } from './build-policy.js';
import type { IntakeConfig } from './config.js';
import { GatewayWatch } from './gateway-watch.js';
import { RedisPassedClients } from './passed-clients.js';
import { startMxServer } from './server.js';
import { SharedClientLimits } from './shared-limits.js';
import { startSubmissionServers } from './submission.js';

/** Starts every part of the intake from a validated config; stops them on SIGTERM. */
export async function runIntake(config: IntakeConfig): Promise<void> {
  const logger = createLogger({ service: 'intake', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = new Queues(connectRedis(config.redisUrl, 'worker'));
  const directory = new Directory(redis);
  const spool = new Spool(config.data);
  await spool.init();
  // The producer connection refuses commands until it is connected (no offline queue).
  await waitRedisReady(redis);

  if (config.seed) {
    const counts = await applySeed(directory, readSeedFile(config.seed));
    logger.info(counts, 'seed applied');
  }
  if (config.sweepOnStart) {
    const swept = await sweepSpool(spool, queues, { minAgeMs: config.sweepMinAge });
    if (swept.requeued.length || swept.tmpRemoved.length)
      logger.warn(swept, 'spool sweep re-queued or removed files');
  }

  const tls = await loadTls({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    dataDir: config.data,
    hostname: config.hostname,
  });
  if (tls.selfSigned) logger.warn('no POSTAMT_TLS_CERT/KEY: using a self-signed certificate');
  const registry = createRegistry('intake');
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
    passedClients: new RedisPassedClients(redis, config.smtpPregreetRemember),
    limits: {
      connections: config.smtpClientConnectionLimit,
      connectionRate: config.smtpClientConnectionRateLimit,
      messages: config.smtpClientMessageRateLimit,
      recipients: config.smtpClientRecipientRateLimit,
      windowMs: config.smtpClientRateWindow,
      exceptions: config.smtpLimitExceptions,
    },
    makeLimiter: (limits) =>
      new SharedClientLimits(redis, limits, logger.child({ component: 'client-limits' })),
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
    maxErrors: config.smtpMaxErrors,
    commandTimeoutMs: config.smtpCommandTimeout,
    dataTimeoutMs: config.smtpDataTimeout,
  });

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
      await Promise.all([mx.close(drainMs), submission.close(drainMs)]);
      await ops.close();
      await queues.close();
      redis.disconnect();
    },
    config.stopTimeout,
  );
}
