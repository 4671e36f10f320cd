// How the CLI reaches the admin API: over HTTP (POSTAMT_ADMIN_URL + token), or
// in-process with --redis, where the same app is built against Redis and driven
// with inject() — one code path for both, and changes are audit-logged either way.
import { userInfo } from 'node:os';
import { createLogger } from '@postamt/observability';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.js';
import type { AdminContext } from '../context.js';
import { closeContext, createContext } from '../service.js';

export interface ApiResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface Transport {
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

function decode(status: number, text: string): ApiResponse {
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status, body, text };
}

export function httpTransport(baseUrl: string, token: string | undefined): Transport {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async request(method, path, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new UnreachableError(`cannot reach the admin API at ${base} (${cause})`);
      }
      return decode(res.status, await res.text());
    },
    async close() {},
  };
}

export async function directTransport(settings: {
  redisUrl: string;
  data: string;
  hostname: string;
}): Promise<Transport> {
  const logger = createLogger({ service: 'postamt-cli', level: 'warn' });
  let ctx: AdminContext;
  try {
    ctx = await createContext({ ...settings, adminAuditKeep: 100_000 }, logger);
  } catch (err) {
    throw new UnreachableError(`cannot reach Redis: ${(err as Error).message}`);
  }
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  const app: FastifyInstance = await buildApp({ ctx, logger, dashboard: false, localActor: `cli:${user}` });
  return {
    async request(method, path, body) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return decode(res.statusCode, res.body);
    },
    async close() {
      await app.close();
      await closeContext(ctx);
    },
  };
}
