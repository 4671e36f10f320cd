// The CLI's settings, read from POSTAMT_* variables like every service's
// (POSTAMT_ADMIN_URL, POSTAMT_ADMIN_TOKEN, and for --redis the common ones).
import { commonShape, loadConfig, markSecret } from '@postamt/config';
import { z } from 'zod';

export const cliSchema = z.object({
  data: commonShape.data,
  hostname: commonShape.hostname,
  redisUrl: commonShape.redisUrl,
  adminUrl: z.url('expected an http(s) URL such as http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
  adminToken: z.string().optional(),
});

markSecret('adminToken');

export type CliSettings = z.output<typeof cliSchema>;

export function loadCliSettings(env?: NodeJS.ProcessEnv): CliSettings {
  return loadConfig(cliSchema, { service: 'postamt', env });
}
