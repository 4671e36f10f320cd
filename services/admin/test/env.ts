// A test environment: a real redis-server, a temp data volume, and the admin
// app listening on a free loopback port, with one token per scope.
import { createLogger } from '@postamt/observability';
import { makeTempDir, type RedisServer, startRedis } from '@postamt/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import type { AdminContext } from '../src/context.js';
import { closeContext, createContext } from '../src/service.js';

export interface TestEnv {
  url: string;
  ctx: AdminContext;
  dataDir: string;
  tokens: { read: string; write: string; admin: string };
  /** fetch against the server; `token` false sends none. */
  req(
    method: string,
    path: string,
    opts?: { body?: unknown; token?: string | false; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startEnv(): Promise<TestEnv> {
  const redis: RedisServer = await startRedis();
  const dataDir = makeTempDir('admin');
  const logger = createLogger({ service: 'admin-test', level: 'silent' });
  const ctx = await createContext(
    { redisUrl: redis.url, data: dataDir, hostname: 'mail.example.test', adminAuditKeep: 1000 },
    logger,
  );
  const tokens = {
    read: (await ctx.tokens.create('reader', 'read')).token,
    write: (await ctx.tokens.create('writer', 'write')).token,
    admin: (await ctx.tokens.create('root', 'admin')).token,
  };
  const app: FastifyInstance = await buildApp({ ctx, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    ctx,
    dataDir,
    tokens,
    async req(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const token = opts.token === undefined ? tokens.admin : opts.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      const res = await fetch(`${url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async stop() {
      await app.close();
      await closeContext(ctx);
      await redis.stop();
    },
  };
}
