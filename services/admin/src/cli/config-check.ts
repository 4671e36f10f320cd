// `postamt config check`: validates the admin configuration as the service
// would at start (every bad POSTAMT_* variable named), then checks that Redis
// answers and the data volume is writable.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { ConfigError } from '@postamt/config';
import { connectRedis, pingRedis } from '@postamt/queue';
import { loadAdminConfig } from '../config.js';

export interface CheckResult {
  ok: boolean;
  problems: string[];
  checks: Record<string, string>;
}

export async function configCheck(): Promise<CheckResult> {
  const problems: string[] = [];
  const checks: Record<string, string> = {};
  let config: ReturnType<typeof loadAdminConfig>;
  try {
    config = loadAdminConfig();
    checks.config = 'ok';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) problems.push(`${p.variable}: got ${p.given}, ${p.expected}`);
    checks.config = `${err.problems.length} problem(s)`;
    return { ok: false, problems, checks };
  }
  const redis = connectRedis(config.redisUrl, 'producer', { lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const r = await pingRedis(redis);
    checks.redis = r ?? 'ok';
    if (r) problems.push(`POSTAMT_REDIS_URL: ${r}`);
  } catch (err) {
    checks.redis = 'unreachable';
    problems.push(`POSTAMT_REDIS_URL: redis unreachable (${(err as Error).message})`);
  } finally {
    redis.disconnect();
  }
  try {
    await access(config.data, constants.W_OK);
    checks.data = 'ok';
  } catch {
    checks.data = 'not writable';
    problems.push(`POSTAMT_DATA: ${config.data} is missing or not writable`);
  }
  if (config.adminBind !== '127.0.0.1' && config.adminBind !== '::1' && config.adminBind !== 'localhost')
    checks.bind = `listening on ${config.adminBind}: make sure only the cluster network reaches it`;
  return { ok: problems.length === 0, problems, checks };
}
