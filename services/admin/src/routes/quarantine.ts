// Quarantine: list with verdict, view the headers, release, delete.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { QuarantineStore } from '../quarantine.js';
import { ok, spoolIdSchema } from '../schemas.js';

const tags = ['quarantine'];
const params = z.object({ id: spoolIdSchema });
const summary = z
  .object({
    id: z.string(),
    quarantinedAt: z.string(),
    verdict: z.string().meta({ description: 'virus, spam (kill level), unscanned, dmarc, limit...' }),
    reason: z.string().nullable(),
    from: z.string(),
    recipients: z.array(z.string()),
    subject: z.string().nullable(),
    size: z.number().int(),
  })
  .meta({ id: 'QuarantineEntry' });

export const quarantineRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const store = new QuarantineStore(ctx.dataDir);

  app.get(
    '/quarantine',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Quarantined messages, oldest first',
        querystring: z.object({
          verdict: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(500),
        }),
        response: { 200: z.object({ entries: z.array(summary) }), 400: errorBody },
      },
    },
    async (req) => {
      const entries = [];
      for (const id of await store.ids()) {
        const s = await store.summary(id);
        if (s && (!req.query.verdict || s.verdict === req.query.verdict)) entries.push(s);
        if (entries.length >= req.query.limit) break;
      }
      return { entries };
    },
  );

  app.get(
    '/quarantine/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'One entry with its verdict details and message headers',
        params,
        response: {
          200: summary.extend({ headers: z.string(), details: z.record(z.string(), z.unknown()) }),
          400: errorBody,
          404: errorBody,
        },
      },
    },
    async (req) => {
      const s = await store.summary(req.params.id);
      const meta = await store.meta(req.params.id);
      const head = await store.headers(req.params.id);
      if (!s || !meta) throw ApiError.notFound(`quarantine entry ${req.params.id}`);
      return { ...s, headers: head?.text ?? '', details: { verdict: meta.verdict, scan: meta.scan ?? null } };
    },
  );

  app.post(
    '/quarantine/:id/release',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Deliver a quarantined message to its recipients without scanning it again',
        params,
        response: {
          200: z.object({
            delivered: z.array(z.string()),
            relayed: z.array(z.string()),
            skipped: z.array(z.string()),
          }),
          400: errorBody,
          404: errorBody,
        },
      },
    },
    async (req) => {
      const r = await store.release(req.params.id, ctx);
      if (!r) throw ApiError.notFound(`quarantine entry ${req.params.id}`);
      await audited(ctx, req, 'quarantine.release', req.params.id, { ...r });
      return r;
    },
  );

  app.delete(
    '/quarantine/:id',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Delete a quarantined message',
        params,
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      if (!(await store.remove(req.params.id))) throw ApiError.notFound(`quarantine entry ${req.params.id}`);
      await audited(ctx, req, 'quarantine.delete', req.params.id);
      return { ok: true as const };
    },
  );
};
