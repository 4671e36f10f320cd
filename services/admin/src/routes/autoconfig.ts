// Public (no token) mail client autoconfiguration, answered only for local
// domains. Thunderbird asks autoconfig.<domain>/mail/config-v1.1.xml or
// <domain>/.well-known/autoconfig/mail/config-v1.1.xml (?emailaddress=);
// Outlook posts to autodiscover.<domain>/autodiscover/autodiscover.xml.
import { normalizeDomain, splitAddress } from '@postamt/directory';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { autodiscoverEmail, outlookAutodiscover, thunderbirdConfig } from '../autoconfig.js';
import type { AdminContext } from '../context.js';
import { ApiError } from '../errors.js';

function hostDomain(req: FastifyRequest): string | null {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return host.replace(/^(autoconfig|autodiscover)\./, '') || null;
}

export const autoconfigRoutes: FastifyPluginAsyncZod<{ ctx: AdminContext }> = async (app, { ctx }) => {
  async function localDomain(candidate: string | null | undefined): Promise<string> {
    const d = candidate ? normalizeDomain(candidate) : null;
    if (!d || !(await ctx.directory.isLocalDomain(d))) throw ApiError.notFound('domain');
    return d;
  }

  const thunderbird = {
    config: { scope: 'public' as const },
    schema: {
      tags: ['autoconfig'],
      summary: 'Thunderbird autoconfig (clientConfig v1.1) for a local domain',
      security: [],
      querystring: z.object({ emailaddress: z.string().max(320).optional() }),
      produces: ['application/xml'],
    },
  };
  const tb = async (req: FastifyRequest<{ Querystring: { emailaddress?: string } }>, reply: FastifyReply) => {
    const given = req.query.emailaddress;
    const d = await localDomain(given ? splitAddress(given)?.domain : hostDomain(req));
    return reply.type('application/xml; charset=utf-8').send(thunderbirdConfig(d, ctx.hostname));
  };
  app.get('/.well-known/autoconfig/mail/config-v1.1.xml', thunderbird, tb);
  app.get('/mail/config-v1.1.xml', thunderbird, tb);

  const outlook = async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as { email?: string; emailaddress?: string };
    const email =
      (typeof req.body === 'string' ? autodiscoverEmail(req.body) : null) ?? q.email ?? q.emailaddress;
    const parts = email ? splitAddress(email) : null;
    if (!email || !parts) throw ApiError.invalid('EMailAddress', 'expected the account’s email address');
    await localDomain(parts.domain);
    return reply.type('application/xml; charset=utf-8').send(outlookAutodiscover(email, ctx.hostname));
  };
  const outlookOpts = {
    config: { scope: 'public' as const },
    schema: { tags: ['autoconfig'], summary: 'Outlook autodiscover (POX) for a local domain', security: [] },
  };
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
    app.post(path, outlookOpts, outlook);
    app.get(path, outlookOpts, outlook);
  }
};
