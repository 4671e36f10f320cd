#!/usr/bin/env node
// imap: config → Redis (commands, one subscriber for mail events, learn
// queue) → directory → TLS material → stores → listeners → health/metrics →
// graceful stop (every session hears BYE). Wiring only.
import { ConfigError } from '@postamt/config';
import { Directory } from '@postamt/directory';
import { redisPublisher } from '@postamt/maildir';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { connectRedis, pingRedis, Queues } from '@postamt/queue';
import { loadTls } from '@postamt/tls';
import { loadImapConfig } from './config.js';
import { queueLearner } from './learn.js';
import { RedisMailEvents } from './mail-events.js';
import { MaildirStoreProvider } from './mail-store.js';
import { startImapServer } from './server.js';

async function main(): Promise<void> {
  const config = loadImapConfig();
  const logger = createLogger({ service: 'imap', level: config.logLevel, format: config.logFormat });
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  // Subscriber mode needs its own connection; it queues (re)subscriptions while Redis is away.
  const subscriber = connectRedis(config.redisUrl, 'worker');
  subscriber.on('error', (err) => logger.warn({ err: err.message }, 'redis subscriber error'));
  const queueRedis = connectRedis(config.redisUrl, 'worker');
  queueRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis queue connection error'));
  const queues = new Queues(queueRedis);
  const tls = await loadTls({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    dataDir: config.data,
    hostname: config.hostname,
  });
  if (tls.selfSigned) logger.warn('no POSTAMT_TLS_CERT/KEY: using a self-signed certificate');
  const registry = createRegistry('imap');
  const directory = new Directory(redis);
  const stores = new MaildirStoreProvider({
    dataDir: config.data,
    hostname: config.hostname,
    quotaOf: async (key) => (await directory.getUser(key))?.quota ?? 0,
    publisher: (key) => redisPublisher(redis, key),
    onPublishError: (err) => logger.warn({ err: (err as Error).message }, 'mail event not published'),
  });

  const server = await startImapServer({
    bind: config.bind,
    port: config.imapPort,
    tlsPort: config.imapsPort,
    hostname: config.hostname,
    tls,
    directory,
    stores,
    events: new RedisMailEvents(subscriber, logger),
    learner: queueLearner((id, payload) => queues.add('learn', id, payload), logger),
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
      idlePollMs: config.imapIdlePoll,
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
      await queues.close();
      queueRedis.disconnect();
      subscriber.disconnect();
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
  process.stderr.write(`imap failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
