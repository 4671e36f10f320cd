// IMAP settings: the common POSTAMT_* ones plus the listeners, the plaintext
// login policy and the per-session limits. Declared once here and validated
// at start-up; process.env is not read anywhere else.
import { commonShape, duration, loadConfig, plaintextPolicy, port, withCommonRules } from '@postamt/config';
import { z } from 'zod';

export type { PlaintextPolicy } from '@postamt/config';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const imapSchema = withCommonRules(
  z.object({
    ...commonShape,
    /** POSTAMT_IMAP_PORT: plain listener, STARTTLS upgrades it (RFC 3501 §6.2.1). */
    imapPort: port.default(143),
    /** POSTAMT_IMAPS_PORT: implicit TLS (RFC 8314 §3.3). */
    imapsPort: port.default(993),
    /** LOGIN/AUTHENTICATE without TLS: `never`, `loopback` (clients on 127.0.0.1/::1 only, for local tools) or `always`. */
    imapAllowPlaintext: plaintextPolicy.prefault('loopback'),
    /**
     * While a client IDLEs, its folder is also read this often, for changes no
     * mail event announced (files written by another program, events lost while
     * Redis was away). One read per folder, not per client.
     */
    imapIdlePoll: duration.prefault('30s').refine((ms) => ms >= 1000, 'expected at least 1s'),
    /** RFC 3501 §5.4: the autologout timer must be at least 30 minutes. */
    imapIdleTimeout: duration.prefault('30m').refine((ms) => ms >= 1000, 'expected at least 1s'),
    /** Failed logins before the connection is closed. */
    imapMaxAuthFailures: count(1, 100).default(3),
    /** Pause before every failed-login reply, to slow down password guessing. */
    imapAuthFailDelay: duration.prefault('2s'),
    /** Connections held at once by this process; more are refused with BYE. */
    imapMaxConnections: count(1, 100_000).default(5000),
    /** Connections at once from one client address. */
    imapMaxConnectionsPerIp: count(1, 10_000).default(50),
    /** Longest command line (RFC 7162 §4 recommends accepting at least 8192 octets). */
    imapMaxLine: count(1024, 1_048_576).default(65_536),
    /** Largest literal outside APPEND. */
    imapMaxLiteral: count(1024, 16_777_216).default(65_536),
    /** Largest message APPEND accepts (advertised as APPENDLIMIT, RFC 7889). */
    imapMaxMessage: count(1024, 1_073_741_824).default(50 * 1024 * 1024),
  }),
);

export type ImapConfig = z.output<typeof imapSchema>;

export function loadImapConfig(env?: NodeJS.ProcessEnv): ImapConfig {
  return loadConfig(imapSchema, { service: 'imap', env });
}
