// Filter worker settings: the common POSTAMT_* ones plus concurrency.
import { commonShape, loadConfig, withCommonRules } from '@postamt/config';
import { z } from 'zod';

export const filterSchema = withCommonRules(
  z.object({
    ...commonShape,
    /** Jobs one worker process handles at once. */
    filterConcurrency: z.coerce.number().int().min(1).max(256).default(4),
  }),
);

export type FilterConfig = z.output<typeof filterSchema>;

export function loadFilterConfig(env?: NodeJS.ProcessEnv): FilterConfig {
  return loadConfig(filterSchema, { service: 'filter', env });
}
