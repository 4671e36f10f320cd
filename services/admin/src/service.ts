// Builds the admin context from a config: Redis, directory, queues, spool,
// tokens, audit log. Shared by main.ts and the CLI's direct (--redis) mode.
import { Directory } from '@postamt/directory';
import type { Logger } from '@postamt/observability';
import { connectRedis, Queues, Spool } from '@postamt/queue';
import { AuditLog } from './audit.js';
import { TokenStore } from './auth/tokens.js';
import type { AdminConfig } from './config.js';
import type { AdminContext } from './context.js';

export async function createContext(
  config: Pick<AdminConfig, 'redisUrl' | 'data' | 'hostname' | 'adminAuditKeep'>,
  logger: Logger,
): Promise<AdminContext> {
  const redis = connectRedis(config.redisUrl, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await waitReady(redis, 15_000);
  const spool = new Spool(config.data);
  await spool.init();
  return {
    redis,
    directory: new Directory(redis),
    queues: new Queues(redis),
    spool,
    tokens: new TokenStore(redis),
    audit: new AuditLog(redis, logger, config.adminAuditKeep),
    logger,
    dataDir: config.data,
    hostname: config.hostname,
  };
}

export async function closeContext(ctx: AdminContext): Promise<void> {
  await ctx.queues.close();
  ctx.redis.disconnect();
}

/** Waits for the first connection, so start-up fails clearly when Redis is away. */
function waitReady(redis: AdminContext['redis'], timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.disconnect();
      reject(new Error(`redis did not answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
