// The declarative seed file (POSTAMT_SEED): domains, users and aliases applied
// at start, idempotently, so a compose file or a Kubernetes ConfigMap can define
// who exists. A user's password is only set when the user is new or the seed
// gives a hash, so a password changed later by the user is not reset.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Directory } from './directory.js';

const sizeText = z.union([z.string(), z.number()]);

export const seedSchema = z.object({
  domains: z.array(z.string()).default([]),
  users: z
    .array(
      z
        .object({
          address: z.string(),
          password: z.string().optional(),
          password_hash: z.string().optional(),
          quota: sizeText.optional(),
          enabled: z.boolean().optional(),
        })
        .refine(
          (u) => u.password !== undefined || u.password_hash !== undefined,
          'a user needs password or password_hash',
        ),
    )
    .default([]),
  aliases: z
    .array(z.object({ address: z.string(), to: z.union([z.string(), z.array(z.string())]) }))
    .default([]),
});

export type Seed = z.infer<typeof seedSchema>;

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  KB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
};

export function parseQuota(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?B?)$/i.exec(value.trim());
  if (!m) throw new Error(`invalid quota ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * (UNITS[(m[2] as string).toUpperCase()] ?? 1));
}

export function readSeedFile(path: string): Seed {
  return seedSchema.parse(parseYaml(readFileSync(path, 'utf8')) ?? {});
}

export async function applySeed(
  directory: Directory,
  seed: Seed,
): Promise<{ domains: number; users: number; aliases: number }> {
  for (const d of seed.domains) await directory.addDomain(d);
  for (const u of seed.users) {
    const existing = await directory.getUser(u.address);
    await directory.putUser({
      address: u.address,
      ...(u.password_hash ? { passwordHash: u.password_hash } : !existing ? { password: u.password } : {}),
      quota: parseQuota(u.quota),
      ...(u.enabled !== undefined ? { enabled: u.enabled } : {}),
    });
  }
  for (const a of seed.aliases) await directory.putAlias(a.address, Array.isArray(a.to) ? a.to : [a.to]);
  return { domains: seed.domains.length, users: seed.users.length, aliases: seed.aliases.length };
}
