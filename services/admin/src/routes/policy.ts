// Greylisting and DNS-blocklist allowlists. smtp-policy takes its allowlists
// from configuration only (GreylistOptions.allowClients / allowDomains), so the
// admin keeps the operator's lists in Redis for intake to merge in:
//
//   postamt:policy:greylist:allow   set of IPs, CIDRs and domains never greylisted
//   postamt:policy:dnsbl:allow      set of IPs, CIDRs and domains that skip DNSBL checks
//
// Until intake reads these keys, entries here have no effect (see the README).
import { isIP } from 'node:net';
import { isHostname } from '@postamt/config';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AdminContext, audited } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { ok } from '../schemas.js';

export const POLICY_LISTS = ['greylist', 'dnsbl'] as const;
export const policyKey = (list: string) => `postamt:policy:${list}:allow`;

function isCidr(v: string): boolean {
  const [ip, bits, extra] = v.split('/');
  if (!ip || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

export const allowEntry = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (v) => isIP(v) !== 0 || isCidr(v) || (isHostname(v) && v.includes('.')),
    'expected an IP address, a CIDR network (192.0.2.0/24) or a domain',
  );

const tags = ['policy'];
const listParam = z.object({ list: z.enum(POLICY_LISTS) });

export const policyRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  app.get(
    '/policy/allowlists',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'Both allowlists',
        response: { 200: z.object({ greylist: z.array(z.string()), dnsbl: z.array(z.string()) }) },
      },
    },
    async () => ({
      greylist: (await ctx.redis.smembers(policyKey('greylist'))).sort(),
      dnsbl: (await ctx.redis.smembers(policyKey('dnsbl'))).sort(),
    }),
  );

  app.get(
    '/policy/allowlists/:list',
    {
      config: { scope: 'read' },
      schema: {
        tags,
        summary: 'One allowlist',
        params: listParam,
        response: { 200: z.object({ entries: z.array(z.string()) }), 400: errorBody },
      },
    },
    async (req) => ({ entries: (await ctx.redis.smembers(policyKey(req.params.list))).sort() }),
  );

  app.post(
    '/policy/allowlists/:list',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Add an IP, network or domain',
        params: listParam,
        body: z.object({ entry: allowEntry }),
        response: { 200: ok, 400: errorBody },
      },
    },
    async (req) => {
      await ctx.redis.sadd(policyKey(req.params.list), req.body.entry);
      await audited(ctx, req, `allowlist.${req.params.list}.add`, req.body.entry);
      return { ok: true as const };
    },
  );

  app.delete(
    '/policy/allowlists/:list/:entry',
    {
      config: { scope: 'write' },
      schema: {
        tags,
        summary: 'Remove an entry (a CIDR’s "/" URL-encoded as %2F)',
        params: listParam.extend({ entry: allowEntry }),
        response: { 200: ok, 400: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      if ((await ctx.redis.srem(policyKey(req.params.list), req.params.entry)) === 0)
        throw ApiError.notFound(`entry ${req.params.entry}`);
      await audited(ctx, req, `allowlist.${req.params.list}.remove`, req.params.entry);
      return { ok: true as const };
    },
  );
};
