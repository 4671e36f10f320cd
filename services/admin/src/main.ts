#!/usr/bin/env node
// admin: config → Redis, stores → bootstrap token → HTTP app on
// POSTAMT_ADMIN_BIND:POSTAMT_ADMIN_PORT (loopback by default) → health/metrics
// → graceful stop.
import { ConfigError } from '@postamt/config';
import { createLogger, createRegistry, onShutdown, startOpsServer } from '@postamt/observability';
import { pingRedis } from '@postamt/queue';
import { buildApp } from './app.js';
import { loadAdminConfig } from './config.js';
import { closeContext, createContext } from './service.js';

async function main(): Promise<void> {
  const config = loadAdminConfig();
  const logger = createLogger({ service: 'admin', level: config.logLevel, format: config.logFormat });
  const ctx = await createContext(config, logger);
  if (config.adminToken) {
    const t = await ctx.tokens.ensure(config.adminToken, 'bootstrap', 'admin');
    logger.info({ tokenId: t.id }, 'bootstrap token from POSTAMT_ADMIN_TOKEN is active');
  } else if ((await ctx.tokens.list()).length === 0) {
    logger.warn('no API tokens exist and POSTAMT_ADMIN_TOKEN is unset: the API refuses every request');
  }
  const app = await buildApp({ ctx, logger });
  await app.listen({ host: config.adminBind, port: config.adminPort });
  logger.info({ bind: config.adminBind, port: config.adminPort }, 'admin API listening');
  const registry = createRegistry('admin');
  const ops = await startOpsServer({
    port: config.metricsPort,
    host: config.bind,
    registry,
    checks: { redis: () => pingRedis(ctx.redis) },
  });

  onShutdown(
    logger,
    async () => {
      await app.close();
      await ops.close();
      await closeContext(ctx);
    },
    config.stopTimeout,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`admin failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
