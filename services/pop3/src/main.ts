#!/usr/bin/env node
// pop3: config → Redis, directory → TLS material → listeners → health/metrics
// → graceful stop (open sessions end without committing, locks released).
import { ConfigError } from '@postamt/config';
import { Directory } from '@postamt/directory';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis } from '@postamt/queue';
import { loadTls } from '@postamt/tls';
import { loadPop3Config } from './config.js';
import { startPop3Server } from './server.js';

async function main(): Promise<void> {
  const config = loadPop3Config();
  const logger = createLogger({ service: 'pop3', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const tls = await loadTls({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    dataDir: config.data,
    hostname: config.hostname,
  });
  if (tls.selfSigned) logger.warn('no POSTAMT_TLS_CERT/KEY: using a self-signed certificate');
  const registry = createRegistry('pop3');

  const server = await startPop3Server({
    bind: config.bind,
    port: config.pop3Port,
    tlsPort: config.pop3sPort,
    hostname: config.hostname,
    dataDir: config.data,
    tls,
    directory: new Directory(redis),
    logger,
    registry,
    allowPlaintext: config.pop3AllowPlaintext,
    idleTimeoutMs: config.pop3IdleTimeout,
    maxConnections: config.pop3MaxConnections,
    maxConnectionsPerIp: config.pop3MaxConnectionsPerIp,
    syncReadMax: config.pop3SyncReadMax,
    limits: {
      maxLine: config.pop3MaxLine,
      maxAuthFailures: config.pop3MaxAuthFailures,
      authFailDelayMs: config.pop3AuthFailDelay,
    },
  });
  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(redis) },
  });

  onShutdown(
    logger,
    async () => {
      await server.close();
      await ops.close();
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
  process.stderr.write(`pop3 failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
