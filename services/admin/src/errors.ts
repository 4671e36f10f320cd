// One error model for the admin API, mapped to HTTP in one function. Replies
// carry a stable `error` code and a short message; a validation failure names
// the offending field(s). Internal details go to the log, never to the client.
import { DirectoryError } from '@postamt/directory';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

export type ApiErrorCode =
  | 'invalid-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ApiErrorCode, number> = {
  'invalid-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

export interface FieldProblem {
  in: string;
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return STATUS[this.code];
  }

  static invalid(field: string, message: string, where = 'body'): ApiError {
    return new ApiError('invalid-request', `${field}: ${message}`, [{ in: where, field, message }]);
  }

  static notFound(what: string): ApiError {
    return new ApiError('not-found', `${what} not found`);
  }
}

export const errorBody = z
  .object({
    error: z.string(),
    message: z.string(),
    fields: z.array(z.object({ in: z.string(), field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBody>;

function fromValidation(err: FastifyError): ApiError {
  const where = err.validationContext ?? 'body';
  const fields: FieldProblem[] = (err.validation ?? []).map((v) => ({
    in: where,
    field: v.instancePath.replace(/^\//, '').replace(/\//g, '.') || where,
    message: v.message ?? 'invalid',
  }));
  const text = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return new ApiError('invalid-request', text || 'invalid request', fields);
}

/** The single place an error becomes an HTTP reply. */
export function toHttpError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DirectoryError) {
    if (err.code === 'not-found') return new ApiError('not-found', err.message);
    if (err.code === 'exists') return new ApiError('conflict', err.message);
    return new ApiError('invalid-request', err.message);
  }
  const fe = err as FastifyError;
  if (fe?.validation) return fromValidation(fe);
  if (fe?.statusCode === 415) return new ApiError('invalid-request', 'unsupported content type');
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (bad JSON, body too large): generic text, details in the log.
    if (fe.statusCode === 404) return new ApiError('not-found', 'not found');
    if (fe.statusCode === 413) return new ApiError('invalid-request', 'request body too large');
    return new ApiError('invalid-request', 'malformed request');
  }
  return new ApiError('internal', 'internal error');
}

export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  if (e.code === 'internal') req.log.error({ err }, 'request failed');
  else req.log.info({ code: e.code, msg: e.message }, 'request refused');
  if (e.code === 'unauthorized' && !reply.hasHeader('www-authenticate'))
    reply.header('www-authenticate', 'Bearer realm="postamt-admin"');
  const body: ErrorBody = { error: e.code, message: e.message };
  if (e.fields.length) body.fields = e.fields;
  return reply.code(e.status).type('application/json').send(body);
}
