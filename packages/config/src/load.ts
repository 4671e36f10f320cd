// Reads a service's configuration from POSTAMT_* environment variables and the
// optional YAML file named by POSTAMT_CONFIG, validates all of it at once, and
// fails with one message that names every bad key. process.env is read here and
// nowhere else.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

const PREFIX = 'POSTAMT_';

/** Config keys whose values are never printed (in errors or logs). */
const secretKeys = new Set<string>();

export function markSecret(...keys: string[]): void {
  for (const key of keys) secretKeys.add(key);
}

/** `redisUrl` → `POSTAMT_REDIS_URL`. */
export function envName(key: string): string {
  return PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `redis_url` or `REDIS_URL` → `redisUrl`. */
function camelKey(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export interface ConfigProblem {
  key: string;
  variable: string;
  given: string;
  expected: string;
}

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid configuration for ${service}:\n${problems
        .map((p) => `  ${p.variable}: got ${p.given}, ${p.expected}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

function describeGiven(key: string, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (secretKeys.has(key)) return '(secret, not shown)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

export interface LoadOptions {
  service: string;
  env?: NodeJS.ProcessEnv;
  /** Values that win over env and file (tests). */
  overrides?: Record<string, unknown>;
}

/** Collects raw values: YAML file first, then environment variables over it. */
function collectRaw(
  shapeKeys: string[],
  env: NodeJS.ProcessEnv,
): { raw: Record<string, unknown>; fileProblems: ConfigProblem[] } {
  const raw: Record<string, unknown> = {};
  const fileProblems: ConfigProblem[] = [];
  const file = env[`${PREFIX}CONFIG`];
  if (file) {
    try {
      const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
      if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
        for (const [k, v] of Object.entries(doc)) raw[camelKey(k.replace(/^postamt_/i, ''))] = v;
      } else if (doc !== null) {
        fileProblems.push({
          key: 'config',
          variable: `${PREFIX}CONFIG`,
          given: JSON.stringify(file),
          expected: 'expected a YAML mapping of settings',
        });
      }
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable or not YAML';
      fileProblems.push({
        key: 'config',
        variable: `${PREFIX}CONFIG`,
        given: `${JSON.stringify(file)} (${reason})`,
        expected: 'expected a readable YAML file',
      });
    }
  }
  for (const key of shapeKeys) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return { raw, fileProblems };
}

/**
 * Validates the whole configuration of one service. Throws ConfigError listing
 * every bad key, so an operator fixes them all in one go.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, options: LoadOptions): z.output<S> {
  const env = options.env ?? process.env;
  const keys = Object.keys(schema.shape);
  const { raw, fileProblems } = collectRaw(keys, env);
  Object.assign(raw, options.overrides);
  const result = schema.safeParse(raw);
  const problems = [...fileProblems];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? 'config');
      problems.push({
        key,
        variable: keys.includes(key) ? envName(key) : key,
        given: describeGiven(key, raw[key]),
        expected: lowerFirst(issue.message.replace(/^Invalid input: /, '')),
      });
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(options.service, problems);
  return result.data;
}

/** A copy of the config that is safe to log: secret keys are replaced. */
export function redact<T extends Record<string, unknown>>(config: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = secretKeys.has(k) ? '(secret)' : v;
  return out;
}
