// Intake settings: the common POSTAMT_* ones, the inbound checks (policy-config.ts),
// the listener ports and limits.
import {
  booleanish,
  byteSize,
  commonShape,
  duration,
  loadConfig,
  port,
  withCommonRules,
} from '@postamt/config';
import { z } from 'zod';
import { policyShape } from './policy-config.js';

export const intakeSchema = withCommonRules(
  z.object({
    ...commonShape,
    ...policyShape,
    /** MX listener (25 in containers, 2525 in the local run). */
    smtpPort: port.default(25),
    /** RFC 5321 §4.5.3.1.7 recommends at least 64 KB; 25 MB is the common default. */
    maxMessageSize: byteSize.prefault('25MB'),
    /** RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted. */
    maxRecipients: z.coerce.number().int().min(100).max(10_000).default(100),
    maxClients: z.coerce.number().int().min(1).default(1000),
    /** Re-queue spool files without a job at start (see packages/queue sweep). */
    sweepOnStart: booleanish.prefault('true'),
    /** Spool files younger than this may still be waiting for their live intake to add the job. */
    sweepMinAge: duration.prefault('30s'),
    /** How long enqueueing may take before the client gets 451. */
    enqueueTimeoutMs: z.coerce.number().int().min(100).default(5000),
  }),
);

export type IntakeConfig = z.output<typeof intakeSchema>;

export function loadIntakeConfig(env?: NodeJS.ProcessEnv): IntakeConfig {
  return loadConfig(intakeSchema, { service: 'intake', env });
}
