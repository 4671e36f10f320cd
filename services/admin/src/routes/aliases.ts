// Aliases: an address at a local domain that forwards to one or more targets
// (local users, other aliases, or remote addresses).
import { addressKey, normalizeDomain } from '@postamt/directory';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { aliasView, domainName, emailAddress, ok } from '../schemas.js';
import { getAlias, listDomainMembers } from './members.js';

const tags = ['aliases'];
const params = z.object({ address: emailAddress });

export const aliasRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const { directory } = ctx;

  app.get(
    '/domains/:domain/aliases',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Aliases of a domain',
        params: z.object({ domain: domainName }),
        response: { 200: z.object({ aliases: z.array(aliasView) }), 404: errorBody },
      },
    },
    async (req) => {
      const d = normalizeDomain(req.params.domain);
      if (!d || !(await directory.isLocalDomain(d))) throw ApiError.notFound(`domain ${req.params.domain}`);
      return { aliases: (await listDomainMembers(ctx, d)).aliases };
    },
  );

  app.put(
    '/aliases/:address',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Create or replace an alias',
        params,
        body: z.object({ targets: z.array(emailAddress).min(1, 'expected at least one target') }),
        response: { 200: aliasView, 400: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    async (req) => {
      const key = addressKey(req.params.address) as string;
      const user = await directory.getUser(key);
      if (user) throw new ApiError('conflict', `${key} is a user`);
      await directory.putAlias(req.params.address, req.body.targets);
      await audited(ctx, req, 'alias.put', key, { targets: req.body.targets });
      return { address: key, targets: req.body.targets };
    },
  );

  app.get(
    '/aliases/:address',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'An alias',
        params,
        response: { 200: aliasView, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const key = addressKey(req.params.address) as string;
      const targets = await getAlias(ctx, key);
      if (!targets) throw ApiError.notFound(`alias ${key}`);
      return { address: key, targets };
    },
  );

  app.delete(
    '/aliases/:address',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Remove an alias',
        params,
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const key = addressKey(req.params.address) as string;
      if (!(await directory.removeAlias(key))) throw ApiError.notFound(`alias ${key}`);
      await audited(ctx, req, 'alias.remove', key);
      return { ok: true as const };
    },
  );
};
