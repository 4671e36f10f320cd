// Queues: counts, jobs with last error and next attempt, retry, delete, flush.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { JOB_STATES, QUEUE_NAMES, QueueAdmin } from '../queue-admin.js';
import { domainName, ok } from '../schemas.js';

const tags = ['queues'];
const queueParam = z.object({ queue: z.enum(QUEUE_NAMES as [string, ...string[]]) });
const jobParams = queueParam.extend({ id: z.string().min(1).max(200) });
const jobView = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.string(),
    data: z.record(z.string(), z.unknown()),
    attemptsMade: z.number().int(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    nextAttemptAt: z.string().nullable(),
  })
  .meta({ id: 'Job' });
const stateList = z
  .string()
  .default('waiting,delayed,failed')
  .transform((s) => s.split(',').map((x) => x.trim()))
  .pipe(z.array(z.enum(JOB_STATES)).min(1));

export const queueRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const admin = new QueueAdmin(ctx.queues, ctx.spool, ctx.redis);
  type Q = Parameters<QueueAdmin['list']>[0];

  async function job(queue: string, id: string) {
    const j = await admin.get(queue as Q, id);
    if (!j) throw ApiError.notFound(`job ${id} in ${queue}`);
    return j;
  }

  app.get(
    '/queues',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Job counts by state for filter, relay and learn',
        response: { 200: z.object({ queues: z.record(z.string(), z.record(z.string(), z.number())) }) },
      },
    },
    async () => ({ queues: await admin.counts() }),
  );

  app.get(
    '/queues/:queue/jobs',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Jobs of a queue with their last error and next attempt',
        params: queueParam,
        querystring: z.object({
          state: stateList,
          domain: domainName.optional(),
          limit: z.coerce.number().int().min(1).max(5000).default(200),
        }),
        response: { 200: z.object({ jobs: z.array(jobView) }), 400: errorBody },
      },
    },
    async (req) => ({
      jobs: await admin.list(req.params.queue as Q, req.query.state, req.query.limit, req.query.domain),
    }),
  );

  app.get(
    '/queues/:queue/jobs/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'One job',
        params: jobParams,
        response: { 200: jobView, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => admin.view(req.params.queue as Q, await job(req.params.queue, req.params.id)),
  );

  app.post(
    '/queues/:queue/jobs/:id/retry',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Run a failed or delayed job now',
        params: jobParams,
        response: {
          200: z.object({ result: z.enum(['retried', 'promoted']) }),
          404: errorBody,
          409: errorBody,
        },
      },
    },
    async (req) => {
      const j = await job(req.params.queue, req.params.id);
      const result = await admin.retry(req.params.queue as Q, j);
      if (result === 'not-retriable')
        throw new ApiError('conflict', 'only failed or delayed jobs can be retried');
      await audited(ctx, req, 'queue.retry', `${req.params.queue}/${req.params.id}`);
      return { result };
    },
  );

  app.delete(
    '/queues/:queue/jobs/:id',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Delete a job and (filter, relay) its spooled message',
        params: jobParams,
        response: { 200: ok, 404: errorBody, 409: errorBody },
      },
    },
    async (req) => {
      const j = await job(req.params.queue, req.params.id);
      try {
        await admin.remove(req.params.queue as Q, j);
      } catch {
        throw new ApiError('conflict', 'the job is being processed; try again');
      }
      await audited(ctx, req, 'queue.delete', `${req.params.queue}/${req.params.id}`);
      return { ok: true as const };
    },
  );

  app.delete(
    '/queues/:queue/jobs',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Delete every job with a recipient in a domain',
        params: queueParam,
        querystring: z.object({ domain: domainName }),
        response: { 200: z.object({ deleted: z.number().int() }), 400: errorBody },
      },
    },
    async (req) => {
      const deleted = await admin.purgeDomain(req.params.queue as Q, req.query.domain);
      await audited(ctx, req, 'queue.purge', `${req.params.queue}@${req.query.domain}`, { deleted });
      return { deleted };
    },
  );

  app.post(
    '/queues/relay/flush',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Try deferred and failed relay jobs now, for one domain or all',
        body: z.object({ domain: domainName.optional() }),
        response: {
          200: z.object({ retried: z.number().int(), promoted: z.number().int() }),
          400: errorBody,
        },
      },
    },
    async (req) => {
      const r = await admin.flush(req.body.domain);
      await audited(ctx, req, 'queue.flush', req.body.domain ?? '*', r);
      return r;
    },
  );
};
