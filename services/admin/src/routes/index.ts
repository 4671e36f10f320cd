// Every route module of the JSON API, mounted under /api/v1.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AdminContext } from '../context.js';
import { aliasRoutes } from './aliases.js';
import { dkimRoutes } from './dkim.js';
import { domainRoutes } from './domains.js';
import { learnRoutes } from './learn.js';
import { policyRoutes } from './policy.js';
import { quarantineRoutes } from './quarantine.js';
import { queueRoutes } from './queues.js';
import { tokenRoutes } from './tokens.js';
import { userRoutes } from './users.js';

const modules = [
  domainRoutes,
  userRoutes,
  aliasRoutes,
  dkimRoutes,
  policyRoutes,
  quarantineRoutes,
  queueRoutes,
  learnRoutes,
  tokenRoutes,
];

export const apiRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  for (const m of modules) await app.register(m, { ctx });
};
