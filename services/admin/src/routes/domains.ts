// Domains and their catch-all. Removing a domain removes its users and aliases;
// their mail stays on the volume unless `purgeMail=true`.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeDomain } from '@postamt/directory';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { aliasView, booleanQuery, domainName, domainView, emailAddress, ok, userView } from '../schemas.js';
import { listDomainMembers } from './members.js';

const tags = ['domains'];
const domainParams = z.object({ domain: domainName });

export const domainRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const { directory } = ctx;

  async function view(name: string): Promise<z.infer<typeof domainView>> {
    const m = await listDomainMembers(ctx, name);
    return {
      name,
      users: m.users.length,
      aliases: m.aliases.length,
      catchAll: await directory.getCatchAll(name),
    };
  }

  async function mustExist(domain: string): Promise<string> {
    const d = normalizeDomain(domain);
    if (!d || !(await directory.isLocalDomain(d))) throw ApiError.notFound(`domain ${domain}`);
    return d;
  }

  app.get(
    '/domains',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'List local domains',
        response: { 200: z.object({ domains: z.array(domainView) }) },
      },
    },
    async () => ({ domains: await Promise.all((await directory.listDomains()).map(view)) }),
  );

  app.post(
    '/domains',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Add a local domain',
        body: z.object({ name: domainName }),
        response: { 201: domainView, 400: errorBody, 409: errorBody },
      },
    },
    async (req, reply) => {
      const existing = normalizeDomain(req.body.name);
      if (existing && (await directory.isLocalDomain(existing)))
        throw new ApiError('conflict', `domain ${existing} exists`);
      const d = await directory.addDomain(req.body.name);
      await audited(ctx, req, 'domain.add', d);
      return reply.code(201).send(await view(d));
    },
  );

  app.get(
    '/domains/:domain',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'A domain with its users and aliases',
        params: domainParams,
        response: {
          200: domainView.extend({ userList: z.array(userView), aliasList: z.array(aliasView) }),
          404: errorBody,
        },
      },
    },
    async (req) => {
      const d = await mustExist(req.params.domain);
      const m = await listDomainMembers(ctx, d);
      return { ...(await view(d)), userList: m.users, aliasList: m.aliases };
    },
  );

  app.delete(
    '/domains/:domain',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Remove a domain with its users, aliases and catch-all',
        params: domainParams,
        querystring: z.object({ purgeMail: booleanQuery }),
        response: { 200: ok, 404: errorBody },
      },
    },
    async (req) => {
      const d = await mustExist(req.params.domain);
      await directory.removeDomain(d);
      if (req.query.purgeMail) await rm(join(ctx.dataDir, 'mail', d), { recursive: true, force: true });
      await audited(ctx, req, 'domain.remove', d, { purgeMail: req.query.purgeMail });
      return { ok: true as const };
    },
  );

  app.get(
    '/domains/:domain/catch-all',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'The catch-all targets of a domain',
        params: domainParams,
        response: { 200: z.object({ targets: z.array(z.string()).nullable() }), 404: errorBody },
      },
    },
    async (req) => ({ targets: await directory.getCatchAll(await mustExist(req.params.domain)) }),
  );

  app.put(
    '/domains/:domain/catch-all',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Set the catch-all targets (mail to unknown local parts goes there)',
        params: domainParams,
        body: z.object({ targets: z.array(emailAddress).min(1, 'expected at least one target') }),
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const d = await mustExist(req.params.domain);
      await directory.setCatchAll(d, req.body.targets);
      await audited(ctx, req, 'catchall.set', d, { targets: req.body.targets });
      return { ok: true as const };
    },
  );

  app.delete(
    '/domains/:domain/catch-all',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Remove the catch-all',
        params: domainParams,
        response: { 200: ok, 404: errorBody },
      },
    },
    async (req) => {
      const d = await mustExist(req.params.domain);
      await directory.setCatchAll(d, null);
      await audited(ctx, req, 'catchall.remove', d);
      return { ok: true as const };
    },
  );
};
