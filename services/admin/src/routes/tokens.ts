// API tokens (admin scope) and the audit trail; whoami for any token.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scopeSchema } from '../auth/tokens.js';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { ok } from '../schemas.js';

const tags = ['access'];
const tokenInfo = z
  .object({ id: z.string(), name: z.string(), scope: scopeSchema, createdAt: z.string() })
  .meta({ id: 'Token' });
const auditEntry = z
  .object({
    at: z.string(),
    actor: z.string(),
    tokenId: z.string().nullable(),
    action: z.string(),
    target: z.string(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'AuditEntry' });

export const tokenRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  app.get(
    '/whoami',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'The caller’s token name and scope',
        response: { 200: z.object({ name: z.string(), scope: scopeSchema }) },
      },
    },
    async (req) => ({ name: req.actor?.name ?? '', scope: req.actor?.scope ?? 'read' }),
  );

  app.get(
    '/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'API tokens (never the secrets)',
        response: { 200: z.object({ tokens: z.array(tokenInfo) }) },
      },
    },
    async () => ({ tokens: await ctx.tokens.list() }),
  );

  app.post(
    '/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Issue a token; the secret is shown only in this reply',
        body: z.object({
          name: z
            .string()
            .trim()
            .min(1, 'expected a name')
            .max(100)
            .regex(/^[\w .@-]+$/, 'expected letters, digits, space, . @ _ -'),
          scope: scopeSchema,
        }),
        response: { 201: tokenInfo.extend({ token: z.string() }), 400: errorBody },
      },
    },
    async (req, reply) => {
      const { token, info } = await ctx.tokens.create(req.body.name, req.body.scope);
      await audited(ctx, req, 'token.create', info.id, { name: info.name, scope: info.scope });
      return reply.code(201).send({ ...info, token });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Revoke a token',
        params: z.object({ id: z.uuid('expected a token id') }),
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      if (!(await ctx.tokens.revoke(req.params.id))) throw ApiError.notFound(`token ${req.params.id}`);
      await audited(ctx, req, 'token.revoke', req.params.id);
      return { ok: true as const };
    },
  );

  app.get(
    '/audit',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Recent changes, newest first',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ entries: z.array(auditEntry) }), 400: errorBody },
      },
    },
    async (req) => ({ entries: await ctx.audit.recent(req.query.limit, req.query.offset) }),
  );
};
