// Admin settings: the common POSTAMT_* ones plus the HTTP listener, the
// bootstrap token and the audit log length. Declared once here and validated at
// start-up; process.env is not read anywhere else in this service.
import { commonShape, loadConfig, markSecret, port, withCommonRules } from '@postamt/config';
import { z } from 'zod';

export const adminSchema = withCommonRules(
  z.object({
    ...commonShape,
    /** POSTAMT_ADMIN_BIND: loopback by default, so the API is never reachable by accident. */
    adminBind: z.string().min(1).default('127.0.0.1'),
    /** Port of the admin HTTP API. */
    adminPort: port.default(8080),
    /**
     * POSTAMT_ADMIN_TOKEN: first-run bootstrap token (admin scope). Stored hashed
     * like every other token; keep it in a secret, rotate it by issuing a new
     * admin token and unsetting this one.
     */
    adminToken: z.string().min(24, 'expected at least 24 characters').optional(),
    /** Entries kept in the Redis audit list (every change is also a log line). */
    adminAuditKeep: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  }),
);

markSecret('adminToken');

export type AdminConfig = z.output<typeof adminSchema>;

export function loadAdminConfig(env?: NodeJS.ProcessEnv): AdminConfig {
  return loadConfig(adminSchema, { service: 'admin', env });
}
