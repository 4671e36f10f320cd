// Learn: queue a learn job (spamd Bayes) for a stored message, as spam or ham.
// The message is a file in a user's Maildir or a quarantine entry; paths are
// relative to the data volume and may not leave mail/ or quarantine/.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { normalize } from 'node:path';
import { addressKey } from '@postamt/directory';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { emailAddress, spoolIdSchema } from '../schemas.js';

const body = z
  .object({
    user: emailAddress,
    as: z.enum(['spam', 'ham']),
    file: z
      .string()
      .min(1)
      .refine((f) => {
        const n = normalize(f);
        return !n.startsWith('/') && !n.startsWith('..') && n.startsWith('mail/');
      }, 'expected a path under mail/ relative to the data volume')
      .optional(),
    quarantineId: spoolIdSchema.optional(),
  })
  .refine((b) => Boolean(b.file) !== Boolean(b.quarantineId), {
    message: 'expected either file or quarantineId',
    path: ['file'],
  });

export const learnRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  app.post(
    '/learn',
    {
      config: { scope: 'write' },
      schema: {
        tags: ['learn'],
        summary: 'Queue a learn job: mark a stored message as spam or ham',
        body,
        response: { 202: z.object({ jobId: z.string() }), 400: errorBody, 404: errorBody },
      },
    },
    async (req, reply) => {
      const file = req.body.file ? normalize(req.body.file) : `quarantine/${req.body.quarantineId}`;
      const exists = await stat(`${ctx.dataDir}/${file}`).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists) throw ApiError.notFound(`message ${file}`);
      const user = addressKey(req.body.user) as string;
      const jobId = `learn-${createHash('sha256').update(`${user}\0${file}\0${req.body.as}`).digest('hex').slice(0, 32)}`;
      await ctx.queues.add('learn', jobId, { user, file, as: req.body.as });
      await audited(ctx, req, 'learn', file, { user, as: req.body.as });
      return reply.code(202).send({ jobId });
    },
  );
};
