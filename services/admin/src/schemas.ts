// Zod schemas shared by the routes; they are also the OpenAPI components
// (`.meta({ id })` puts them under components/schemas).
import { isHostname, parseByteSize } from '@postamt/config';
import { addressKey } from '@postamt/directory';
import { isSpoolId } from '@postamt/queue';
import { z } from 'zod';

export const domainName = z
  .string()
  .trim()
  .min(1, 'expected a domain name')
  .max(253)
  .refine((d) => isHostname(d) && d.includes('.'), 'expected a domain name such as example.org')
  .meta({ description: 'A domain name (A-label or U-label)', example: 'example.org' });

export const emailAddress = z
  .string()
  .trim()
  .max(320)
  .refine((a) => addressKey(a) !== null, 'expected an email address such as alice@example.org')
  .meta({ example: 'alice@example.org' });

export const spoolIdSchema = z
  .string()
  .refine(isSpoolId, 'expected a queue id (26 characters of Crockford base32)')
  .meta({ example: '01J0000000ABCDEFGHJKMNPQRS' });

/** Bytes, or a size like "2GB" / "512MB"; 0 means no quota. */
export const quotaSchema = z
  .union([z.number().int().min(0), z.string()])
  .transform((v, ctx) => {
    const n = parseByteSize(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a size like 2GB, 512MB or a number of bytes' });
      return z.NEVER;
    }
    return n;
  })
  .meta({ description: 'Bytes, or a size such as "2GB"; 0 means unlimited', example: '2GB' });

export const booleanQuery = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const ok = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

export const userView = z
  .object({
    address: z.string(),
    domain: z.string(),
    quota: z.number().int().meta({ description: 'bytes; 0 = unlimited' }),
    enabled: z.boolean(),
  })
  .meta({ id: 'User' });

export const aliasView = z
  .object({ address: z.string(), targets: z.array(z.string()) })
  .meta({ id: 'Alias' });

export const domainView = z
  .object({
    name: z.string(),
    users: z.number().int(),
    aliases: z.number().int(),
    catchAll: z.array(z.string()).nullable(),
  })
  .meta({ id: 'Domain' });
