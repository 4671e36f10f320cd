#!/usr/bin/env node
// relay: config → Redis, spool, DNS → relay worker → health/metrics → graceful
// stop (the worker finishes its sessions; an interrupted one is re-run by the
// next worker, re-sending at most the recipients not yet recorded).
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '@postamt/config';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis, Queues, Spool } from '@postamt/queue';
import { createResolver } from '@postamt/smtp-policy';
import { loadRelayConfig } from './config.js';
import { DkimSigner, RedisDkimKeys } from './dkim.js';
import { DnssecResolver } from './dnssec.js';
import { DestinationLimiter } from './limiter.js';
import { relayMetrics } from './metrics.js';
import { MtaSts } from './mta-sts.js';
import { SessionPool } from './session-pool.js';
import { RelayState } from './state.js';
import { startRelayWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadRelayConfig();
  const logger = createLogger({ service: 'relay', level: config.logLevel, format: config.logFormat });
  if (config.relayTestAllowNetworks.length > 0) {
    logger.warn('POSTAMT_RELAY_TEST_ALLOW_NETWORKS is set: the SSRF guard lets non-public networks through');
  }
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const workerRedis = connectRedis(config.redisUrl, 'worker');
  workerRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  // Subscribed to the limiter's release announcements (a subscribed connection does nothing else).
  const limitRedis = connectRedis(config.redisUrl, 'worker');
  limitRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const spool = new Spool(config.data);
  await spool.init();
  const queues = new Queues(redis);
  const dns = createResolver({ servers: config.dnsServers, timeoutMs: config.relayDnsTimeout });
  const registry = createRegistry('relay');
  const metrics = relayMetrics(registry);
  // State outlives the longest possible queue stay by a week.
  // Extra CAs come on top of Node's roots, never instead of them.
  const ca = config.relayTlsCaFile
    ? [...rootCertificates, readFileSync(config.relayTlsCaFile, 'utf8')]
    : undefined;
  const pool = new SessionPool(config.relayConnectionReuse, config.relayDestinationConcurrency);
  const state = new RelayState(redis, Math.ceil(config.relayMaxLifetime / 1000) + 7 * 86_400);

  const worker = startRelayWorker(
    {
      spool,
      queues,
      state,
      limiter: new DestinationLimiter(
        redis,
        {
          concurrency: config.relayDestinationConcurrency,
          ratePerSecond: config.relayDestinationRate,
          burst: config.relayDestinationBurst,
          leaseMs: Math.max(60_000, config.relaySocketTimeout * 2),
        },
        limitRedis,
      ),
      destination: {
        dns,
        mtaSts: config.relayMtaSts
          ? new MtaSts({
              dns,
              allowNetworks: config.relayTestAllowNetworks,
              port: config.relayMtaStsPort,
              timeoutMs: config.relayMtaStsTimeout,
              ...(ca ? { ca } : {}),
            })
          : null,
        dnssec: config.relayDane
          ? new DnssecResolver({
              servers: config.dnsServers,
              timeoutMs: config.relayDnsTimeout,
              trustAd: config.relayDnssecTrustAd,
            })
          : null,
        pool,
        ...(ca ? { ca } : {}),
        route: {
          transports: config.relayTransports,
          smtpPort: config.relaySmtpPort,
          allowNetworks: config.relayTestAllowNetworks,
        },
        legitimacy: {
          fcrdns: config.relayFcrdnsPolicy,
          dnsbl: config.relayDnsblPolicy,
          dnsblSites: config.relayDnsblSites,
        },
        heloName: config.hostname,
        recipientLimit: config.relayRecipientLimit,
        timeouts: {
          connectMs: config.relayConnectTimeout,
          greetingMs: config.relayGreetingTimeout,
          socketMs: config.relaySocketTimeout,
        },
        ...(config.relaySmarthostUser && config.relaySmarthostPassword
          ? { smarthostAuth: { user: config.relaySmarthostUser, pass: config.relaySmarthostPassword } }
          : {}),
      },
      schedule: {
        minMs: config.relayRetryMin,
        maxMs: config.relayRetryMax,
        lifetimeMs: config.relayMaxLifetime,
      },
      delayWarningMs: config.relayDelayWarning,
      hostname: config.hostname,
      logger,
      ...(config.relayDkim
        ? { dkim: new DkimSigner(new RedisDkimKeys(redis, config.relayDkimCache), logger) }
        : {}),
      metrics,
    },
    { connection: workerRedis, concurrency: config.relayConcurrency, lockMs: config.relayJobLock },
  );
  await worker.waitUntilReady();

  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(redis) },
  });
  logger.info({ concurrency: config.relayConcurrency }, 'relay started');

  onShutdown(
    logger,
    async () => {
      await worker.close();
      pool.closeAll();
      await ops.close();
      await queues.close();
      redis.disconnect();
      workerRedis.disconnect();
      limitRedis.disconnect();
    },
    config.stopTimeout,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`relay failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
