// What every route module receives: the stores it works on and the audit log.
import type { Directory } from '@postamt/directory';
import type { Logger } from '@postamt/observability';
import type { Queues, Spool } from '@postamt/queue';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuditLog } from './audit.js';
import type { TokenStore } from './auth/tokens.js';

export interface AdminContext {
  redis: Redis;
  directory: Directory;
  queues: Queues;
  spool: Spool;
  tokens: TokenStore;
  audit: AuditLog;
  logger: Logger;
  dataDir: string;
  hostname: string;
}

/** Records a change made by the caller of `req`. */
export function audited(
  ctx: AdminContext,
  req: FastifyRequest,
  action: string,
  target: string,
  detail?: Record<string, unknown>,
): Promise<void> {
  return ctx.audit.record({
    actor: req.actor?.name ?? 'unknown',
    tokenId: req.actor?.tokenId ?? null,
    action,
    target,
    ...(detail ? { detail } : {}),
  });
}
