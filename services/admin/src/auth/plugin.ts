// Authentication and scopes for every request. A route declares the scope it
// needs in `config.scope`; routes that declare nothing (Swagger UI, bull-board,
// unknown paths) need `read` for GET/HEAD and `write` otherwise, so nothing is
// ever served without a token unless a route says `public` (autoconfig only).
//
// Credentials: `Authorization: Bearer <token>`, or HTTP Basic with the token as
// password (any user name) so a browser can open /docs and the dashboard.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, sendError } from '../errors.js';
import { type Scope, scopeAllows, type TokenStore } from './tokens.js';

export type RouteScope = Scope | 'public';

export interface Actor {
  name: string;
  tokenId: string | null;
  scope: Scope;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
}

/** Paths a person opens in a browser: a 401 there asks for Basic credentials. */
const BROWSER_PATHS = /^\/(docs|dashboard)(\/|$)/;

function credential(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const [kind, value] = h.split(' ', 2);
  if (!value) return null;
  if (kind?.toLowerCase() === 'bearer') return value.trim();
  if (kind?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

export interface AuthOptions {
  tokens: TokenStore;
  /** In-process CLI mode only (the app never listens): requests act as this admin. */
  localActor?: string;
}

export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    const declared = req.routeOptions.config?.scope;
    if (declared === 'public') return;
    const need: Scope = declared ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
    if (opts.localActor) {
      req.actor = { name: opts.localActor, tokenId: null, scope: 'admin' };
      return;
    }
    const token = credential(req);
    const info = token ? await opts.tokens.verify(token) : null;
    // Replied here rather than thrown: plugins such as bull-board install
    // their own error handlers, which would turn a 401 into a 500.
    if (!info) {
      if (BROWSER_PATHS.test(req.url)) reply.header('www-authenticate', 'Basic realm="postamt-admin"');
      return sendError(
        new ApiError('unauthorized', token ? 'invalid token' : 'an API token is required'),
        req,
        reply,
      );
    }
    req.actor = { name: info.name, tokenId: info.id, scope: info.scope };
    if (!scopeAllows(info.scope, need))
      return sendError(new ApiError('forbidden', `this needs a token with the ${need} scope`), req, reply);
  });
}
