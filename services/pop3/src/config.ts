// POP3 settings: the common POSTAMT_* ones plus the listeners, the plaintext
// login policy and the per-session limits. Declared once here and validated at
// start-up; process.env is not read anywhere else.
import {
  byteSize,
  commonShape,
  duration,
  loadConfig,
  plaintextPolicy,
  port,
  withCommonRules,
} from '@postamt/config';
import { z } from 'zod';

export type { PlaintextPolicy } from '@postamt/config';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const pop3Schema = withCommonRules(
  z.object({
    ...commonShape,
    /** POSTAMT_POP3_PORT: plain listener, STLS upgrades it (RFC 2595 §4). */
    pop3Port: port.default(110),
    /** POSTAMT_POP3S_PORT: implicit-TLS listener (RFC 8314 §3.3). */
    pop3sPort: port.default(995),
    /** USER/PASS and AUTH without TLS: `never`, `loopback` (clients on 127.0.0.1/::1 only, for local tools) or `always`. */
    pop3AllowPlaintext: plaintextPolicy.prefault('loopback'),
    /** RFC 1939 §3: the autologout timer must be at least 10 minutes. */
    pop3IdleTimeout: duration.prefault('10m').refine((ms) => ms >= 1000, 'expected at least 1s'),
    /** Failed logins before the connection is closed. */
    pop3MaxAuthFailures: count(1, 100).default(3),
    /** Pause before every failed-login reply, to slow down password guessing. */
    pop3AuthFailDelay: duration.prefault('2s'),
    /** Connections held at once by this process. */
    pop3MaxConnections: count(1, 100_000).default(1000),
    /** Connections at once from one client address. */
    pop3MaxConnectionsPerIp: count(1, 10_000).default(20),
    /** Longest command line accepted (RFC 2449 §4 allows clients 255 octets; we are lenient). */
    pop3MaxLine: count(255, 8192).default(512),
    /**
     * Messages up to this size are read with blocking calls (@postamt/maildir readInline):
     * ten times cheaper than thread-pool reads when the file is in the page
     * cache, at the price of stalling the process during a cold read. 0: never.
     */
    pop3SyncReadMax: byteSize.prefault('64KB').refine((n) => n <= 16 * 2 ** 20, 'expected at most 16MB'),
  }),
);

export type Pop3Config = z.output<typeof pop3Schema>;

export function loadPop3Config(env?: NodeJS.ProcessEnv): Pop3Config {
  return loadConfig(pop3Schema, { service: 'pop3', env });
}
