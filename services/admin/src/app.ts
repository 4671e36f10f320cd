// The admin HTTP app: OpenAPI from the zod route schemas, Swagger UI at /docs,
// the JSON API under /api/v1, bull-board at /dashboard, and the public mail
// client autoconfiguration. Built without listening, so tests and the CLI's
// direct mode can drive it with inject().
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger } from '@postamt/observability';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { installAuth } from './auth/plugin.js';
import { mountBullBoard } from './bull-board.js';
import type { AdminContext } from './context.js';
import { sendError } from './errors.js';
import { autoconfigRoutes } from './routes/autoconfig.js';
import { apiRoutes } from './routes/index.js';

export interface BuildOptions {
  ctx: AdminContext;
  logger: Logger;
  /** Mount bull-board (off in the CLI's direct mode). */
  dashboard?: boolean;
  /** See AuthOptions.localActor. */
  localActor?: string;
}

export const API_PREFIX = '/api/v1';

export async function buildApp(opts: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger at run time; the types differ in generics only.
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    // Requests are not logged one by one; changes are audit-logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Addresses appear in paths: keep their case and the '@' intact.
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => sendError({ statusCode: 404 }, req, reply));
  // Outlook posts its autodiscover request as XML.
  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  installAuth(app, { tokens: opts.ctx.tokens, localActor: opts.localActor });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Postamt admin API',
        description:
          'Domains, users, aliases, DKIM, policy lists, quarantine and queues of a Postamt mail server.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An admin API token (pa_...)' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(apiRoutes, { prefix: API_PREFIX, ctx: opts.ctx });
  await app.register(autoconfigRoutes, { ctx: opts.ctx });
  if (opts.dashboard !== false) await mountBullBoard(app, opts.ctx, '/dashboard');
  return app;
}
