// DKIM keys of a domain: generate (first key), rotate, show the DNS TXT record.
import { normalizeDomain } from '@postamt/directory';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import {
  DKIM_ALGORITHMS,
  type DkimKey,
  DkimStore,
  defaultSelector,
  generateDkimKey,
  selectorSchema,
  toPublic,
} from '../dkim.js';
import { ApiError, errorBody } from '../errors.js';
import { domainName, ok } from '../schemas.js';

const tags = ['dkim'];
const params = z.object({ domain: domainName });
const dkimPublic = z
  .object({
    selector: z.string(),
    algorithm: z.enum(DKIM_ALGORITHMS),
    createdAt: z.string(),
    dnsName: z.string(),
    dnsRecord: z.string(),
    zoneLine: z.string(),
  })
  .meta({ id: 'DkimKey' });
const dkimView = z.object({ current: dkimPublic, previous: dkimPublic.nullable() }).meta({ id: 'DkimKeys' });
const generateBody = z.object({
  algorithm: z.enum(DKIM_ALGORITHMS).default('rsa-2048'),
  selector: selectorSchema.optional(),
});

export const dkimRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  const store = new DkimStore(ctx.redis);

  async function localDomain(domain: string): Promise<string> {
    const d = normalizeDomain(domain);
    if (!d || !(await ctx.directory.isLocalDomain(d))) throw ApiError.notFound(`domain ${domain}`);
    return d;
  }

  async function view(d: string) {
    const { current, previous } = await store.get(d);
    if (!current) throw ApiError.notFound(`DKIM key of ${d}`);
    return { current: toPublic(d, current), previous: previous ? toPublic(d, previous) : null };
  }

  function make(d: string, body: z.infer<typeof generateBody>, taken: (DkimKey | null)[]): DkimKey {
    let selector = body.selector ?? defaultSelector(body.algorithm);
    if (taken.some((k) => k?.selector === selector)) {
      if (body.selector) throw ApiError.invalid('selector', `selector ${selector} is in use for ${d}`);
      selector = `${selector}-${Date.now().toString(36)}`;
    }
    return generateDkimKey(body.algorithm, selector);
  }

  app.get(
    '/domains/:domain/dkim',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'The DKIM keys and their DNS TXT records',
        params,
        response: { 200: dkimView, 404: errorBody },
      },
    },
    async (req) => view(await localDomain(req.params.domain)),
  );

  app.post(
    '/domains/:domain/dkim',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Generate the first DKIM key of a domain (409 if it has one: rotate instead)',
        params,
        body: generateBody,
        response: { 201: dkimView, 400: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    async (req, reply) => {
      const d = await localDomain(req.params.domain);
      const { current, previous } = await store.get(d);
      if (current) throw new ApiError('conflict', `${d} has a DKIM key; rotate it instead`);
      const key = make(d, req.body, [previous]);
      await store.install(d, key);
      await audited(ctx, req, 'dkim.generate', d, { selector: key.selector, algorithm: key.algorithm });
      return reply.code(201).send(await view(d));
    },
  );

  app.post(
    '/domains/:domain/dkim/rotate',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Make a new key current; the old one is kept as previous until retired',
        params,
        body: generateBody,
        response: { 200: dkimView, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const d = await localDomain(req.params.domain);
      const { current, previous } = await store.get(d);
      if (!current) throw ApiError.notFound(`DKIM key of ${d}`);
      const key = make(d, req.body, [current, previous]);
      await store.install(d, key);
      await audited(ctx, req, 'dkim.rotate', d, { selector: key.selector, retired: current.selector });
      return view(d);
    },
  );

  app.delete(
    '/domains/:domain/dkim/previous',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Forget the previous (rotated-out) key',
        params,
        response: { 200: ok, 404: errorBody },
      },
    },
    async (req) => {
      const d = await localDomain(req.params.domain);
      if (!(await store.removePrevious(d))) throw ApiError.notFound(`previous DKIM key of ${d}`);
      await audited(ctx, req, 'dkim.retire', d);
      return { ok: true as const };
    },
  );
};
