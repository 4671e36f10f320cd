// Splits a domain's member keys into users and aliases (the directory keeps one set).
import type { AdminContext } from '../context.js';

export interface Members {
  users: { address: string; domain: string; quota: number; enabled: boolean }[];
  aliases: { address: string; targets: string[] }[];
}

export async function listDomainMembers(ctx: AdminContext, domain: string): Promise<Members> {
  const out: Members = { users: [], aliases: [] };
  for (const key of await ctx.directory.listMembers(domain)) {
    const user = await ctx.directory.getUser(key);
    if (user)
      out.users.push({
        address: user.address,
        domain: user.domain,
        quota: user.quota,
        enabled: user.enabled,
      });
    const alias = await getAlias(ctx, key);
    if (alias) out.aliases.push({ address: key, targets: alias });
  }
  return out;
}

/** The directory has no alias getter; its key layout is documented in directory.ts. */
export async function getAlias(ctx: AdminContext, key: string): Promise<string[] | null> {
  const v = await ctx.redis.get(`postamt:dir:alias:${key}`);
  return v ? (JSON.parse(v) as string[]) : null;
}
