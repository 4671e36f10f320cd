// Users: create, read, set password, quota and enabled, delete (with or
// without their Maildir). Passwords are hashed by the directory (argon2id) and
// never logged or audited.
import { rm } from 'node:fs/promises';
import { addressKey, normalizeDomain, type User } from '@postamt/directory';
import { userMaildir } from '@postamt/maildir';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { booleanQuery, domainName, emailAddress, ok, quotaSchema, userView } from '../schemas.js';
import { listDomainMembers } from './members.js';

const tags = ['users'];
const params = z.object({ address: emailAddress });
const password = z.string().min(8, 'expected at least 8 characters').max(1024);

function view(u: User): z.infer<typeof userView> {
  return { address: u.address, domain: u.domain, quota: u.quota, enabled: u.enabled };
}

export const userRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const { directory } = ctx;

  async function mustGet(address: string): Promise<User> {
    const u = await directory.getUser(address);
    if (!u) throw ApiError.notFound(`user ${address}`);
    return u;
  }

  app.get(
    '/domains/:domain/users',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Users of a domain',
        params: z.object({ domain: domainName }),
        response: { 200: z.object({ users: z.array(userView) }), 404: errorBody },
      },
    },
    async (req) => {
      const d = normalizeDomain(req.params.domain);
      if (!d || !(await directory.isLocalDomain(d))) throw ApiError.notFound(`domain ${req.params.domain}`);
      return { users: (await listDomainMembers(ctx, d)).users };
    },
  );

  app.post(
    '/users',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Create a user',
        body: z
          .object({
            address: emailAddress,
            password: password.optional(),
            passwordHash: z
              .string()
              .min(1)
              .optional()
              .meta({ description: 'An imported hash ({ARGON2ID}, {SHA512-CRYPT}...)' }),
            quota: quotaSchema.optional(),
            enabled: z.boolean().optional(),
          })
          .refine((b) => Boolean(b.password) !== Boolean(b.passwordHash), {
            message: 'expected either password or passwordHash',
            path: ['password'],
          }),
        response: { 201: userView, 400: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (await directory.getUser(b.address)) throw new ApiError('conflict', `user ${b.address} exists`);
      const u = await directory.putUser({
        address: b.address,
        ...(b.password ? { password: b.password } : {}),
        ...(b.passwordHash ? { passwordHash: b.passwordHash } : {}),
        ...(b.quota !== undefined ? { quota: b.quota } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      });
      await audited(ctx, req, 'user.add', u.key, { quota: u.quota, enabled: u.enabled });
      return reply.code(201).send(view(u));
    },
  );

  app.get(
    '/users/:address',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'A user',
        params,
        response: { 200: userView, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => view(await mustGet(req.params.address)),
  );

  app.put(
    '/users/:address/password',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Set a user’s password',
        params,
        body: z.object({ password }),
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const u = await mustGet(req.params.address);
      await directory.putUser({ address: u.address, password: req.body.password });
      await audited(ctx, req, 'user.password', u.key);
      return { ok: true as const };
    },
  );

  app.patch(
    '/users/:address',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Change a user’s quota or enable/disable them',
        params,
        body: z
          .object({ quota: quotaSchema.optional(), enabled: z.boolean().optional() })
          .refine((b) => b.quota !== undefined || b.enabled !== undefined, {
            message: 'expected quota or enabled',
            path: ['quota'],
          }),
        response: { 200: userView, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const u = await mustGet(req.params.address);
      const next = await directory.putUser({
        address: u.address,
        ...(req.body.quota !== undefined ? { quota: req.body.quota } : {}),
        ...(req.body.enabled !== undefined ? { enabled: req.body.enabled } : {}),
      });
      await audited(ctx, req, 'user.update', u.key, { ...req.body });
      return view(next);
    },
  );

  app.delete(
    '/users/:address',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Delete a user; with deleteMail=true also their Maildir',
        params,
        querystring: z.object({ deleteMail: booleanQuery }),
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const u = await mustGet(req.params.address);
      await directory.removeUser(u.address);
      if (req.query.deleteMail) {
        const key = addressKey(u.address) as string;
        await rm(userMaildir(ctx.dataDir, key), { recursive: true, force: true });
      }
      await audited(ctx, req, 'user.remove', u.key, { deleteMail: req.query.deleteMail });
      return { ok: true as const };
    },
  );
};
