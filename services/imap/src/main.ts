#!/usr/bin/env node
// imap: config → Redis, directory → TLS material → store → listeners →
// health/metrics → graceful stop (every session hears BYE).
import { ConfigError } from '@postamt/config';
import { Directory } from '@postamt/directory';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis } from '@postamt/queue';
import { loadImapConfig } from './config.js';
import { parseBasic } from './message-basic.js';
import { startImapServer } from './server.js';
import { MaildirStoreProvider } from './store-maildir.js';
import { loadTls } from './tls.js';

async function main(): Promise<void> {
  const config = loadImapConfig();
  const logger = createLogger({ service: 'imap', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const tls = await loadTls({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    dataDir: config.data,
    hostname: config.hostname,
  });
  if (tls.selfSigned) logger.warn('no POSTAMT_TLS_CERT/KEY: using a self-signed certificate');
  const registry = createRegistry('imap');
  const directory = new Directory(redis);
  const stores = new MaildirStoreProvider(config.data, config.hostname, async (key) => {
    const user = await directory.getUser(key);
    return user?.quota ?? 0;
  });

  const server = await startImapServer({
    bind: config.bind,
    port: config.imapPort,
    tlsPort: config.imapsPort,
    hostname: config.hostname,
    tls,
    directory,
    stores,
    parse: parseBasic,
    logger,
    registry,
    allowPlaintext: config.imapAllowPlaintext,
    maxConnections: config.imapMaxConnections,
    maxConnectionsPerIp: config.imapMaxConnectionsPerIp,
    limits: {
      maxLine: config.imapMaxLine,
      maxLiteral: config.imapMaxLiteral,
      maxMessage: config.imapMaxMessage,
      maxAuthFailures: config.imapMaxAuthFailures,
      authFailDelayMs: config.imapAuthFailDelay,
      idleTimeoutMs: config.imapIdleTimeout,
    },
  });
  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(redis) },
  });

  onShutdown(logger, async () => {
    await server.close();
    await ops.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`imap failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
