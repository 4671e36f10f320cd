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
import { cidrList, policyShape } from './policy-config.js';

/** The SMTP layer's protocol hygiene and limits (packages/smtp-server). */
const smtpShape = {
  /**
   * Clients not seen passing recently wait this long for the greeting; talking
   * meanwhile drops them (pregreet). 0 greets everyone at once.
   */
  smtpPregreetWait: duration.prefault('300ms'),
  /** How long a client that passed is greeted without the wait (memory and Redis). */
  smtpPregreetRemember: duration.prefault('1d'),
  /**
   * Clients never made to wait (as postscreen_access_list), e.g. `127.0.0.0/8,::1/128`
   * for local programs. Empty by default: tests and monitors from loopback must see
   * the same front door as the internet.
   */
  smtpPregreetExceptions: cidrList.prefault(''),
  /** Expect a PROXY v1/v2 header on every connection (only behind a load balancer). */
  proxyProtocol: booleanish.prefault('off'),
  /**
   * Concurrent connections per client address (IPv6: per /64); 0 = no limit. Per
   * intake instance: with POSTAMT_SMTP_WORKERS the supervisor counts for all workers.
   */
  smtpClientConnectionLimit: z.coerce.number().int().min(0).default(50),
  /** New connections per client per window; 0 = no limit. Shared by all replicas (Redis). */
  smtpClientConnectionRateLimit: z.coerce.number().int().min(0).default(0),
  /** MAIL FROM per client per window; 0 = no limit. Shared by all replicas (Redis). */
  smtpClientMessageRateLimit: z.coerce.number().int().min(0).default(0),
  /** RCPT TO per client per window; 0 = no limit. Shared by all replicas (Redis). */
  smtpClientRecipientRateLimit: z.coerce.number().int().min(0).default(0),
  /** The window of the three rate limits above. */
  smtpClientRateWindow: duration.prefault('60s'),
  /**
   * Warn (log and /readyz) when this many MX connections in a row came from one
   * address of `smtpGatewayNetworks` without PROXY protocol: the clients are
   * probably NATed by a gateway, which makes the IP-based checks meaningless.
   * 0 = never.
   */
  smtpGatewayWarnAfter: z.coerce.number().int().min(0).default(50),
  /** Where a NAT gateway's address would be: private, shared (CGNAT), ULA and link-local ranges. */
  smtpGatewayNetworks: cidrList.prefault(
    '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,fc00::/7,fe80::/10',
  ),
  /** Clients never limited (as Postfix's smtpd_client_event_limit_exceptions). */
  smtpLimitExceptions: cidrList.prefault('127.0.0.0/8,::1/128'),
  /** Protocol errors before 421 (Postfix smtpd_hard_error_limit). */
  smtpMaxErrors: z.coerce.number().int().min(1).max(1000).default(10),
  /** RFC 5321 §4.5.3.2.7: at least 5 minutes. */
  smtpCommandTimeout: duration.prefault('5m'),
  /** RFC 5321 §4.5.3.2.5: at least 3 minutes between DATA blocks. */
  smtpDataTimeout: duration.prefault('3m'),
  /**
   * A message with a dot next to a bare CR or LF (SMTP smuggling attempt): it is
   * never split (only <CRLF>.<CRLF> ends DATA); `reject` also refuses it with 550.
   */
  smtpBareNewlineDot: z.enum(['accept', 'reject']).default('accept'),
};

/** A listener port, or `off` for no listener. */
const listenerPort = z.union([z.literal('off'), port]);

/** Submission (RFC 6409, RFC 8314): 587 with STARTTLS, 465 with implicit TLS, AUTH required. */
const submissionShape = {
  /** STARTTLS submission listener (587 in containers, 2587 in the local run); `off`: none. */
  submissionPort: listenerPort.default(587),
  /** Implicit-TLS submission listener (465 in containers, 2465 in the local run); `off`: none. */
  submissionsPort: listenerPort.default(465),
  /**
   * Which sender addresses an authenticated user may use (own address or an
   * alias that reaches them): `strict` checks MAIL FROM and the From/Sender
   * header fields, `envelope` only MAIL FROM, `off` nothing.
   */
  submissionSenderPolicy: z.enum(['strict', 'envelope', 'off']).default('strict'),
  /** Failed logins per account within the window before it is locked for a while. */
  submissionAuthMaxFailures: z.coerce.number().int().min(1).max(1000).default(5),
  /** Failed logins per client address within the window before the address is locked. */
  submissionAuthMaxFailuresPerIp: z.coerce.number().int().min(1).max(10_000).default(20),
  /** The window in which failed logins are counted. */
  submissionAuthFailureWindow: duration.prefault('15m'),
  /** First lockout; each further lockout within a day doubles it, up to the maximum. */
  submissionAuthLockout: duration.prefault('1m'),
  /** The longest lockout. */
  submissionAuthLockoutMax: duration.prefault('1h'),
  /** Pause before answering a failed login (slows guessing on one connection). */
  submissionAuthFailureDelay: duration.prefault('1s'),
  /** Expect a PROXY v1/v2 header on the STARTTLS submission listener (465 cannot take one). */
  submissionProxyProtocol: booleanish.prefault('off'),
};

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
    /** Connections at once on each listener of this process; more get 421. */
    maxClients: z.coerce.number().int().min(1).default(1000),
    ...smtpShape,
    ...submissionShape,
    /**
     * Intake processes sharing the listeners, as Postfix runs many smtpd: above 1
     * a supervisor (supervisor.ts) forks that many workers with node:cluster, each
     * listening on the same ports (SO_REUSEPORT: the kernel spreads connections).
     * 1 = a single process.
     */
    smtpWorkers: z.coerce.number().int().min(1).max(64).default(1),
    /** Re-queue spool files without a job at start (see packages/queue sweep). */
    sweepOnStart: booleanish.prefault('true'),
    /** Spool files younger than this may still be waiting for their live intake to add the job. */
    sweepMinAge: duration.prefault('30s'),
    /**
     * Threads for file I/O (libuv's pool, default 4). Every message costs a synced
     * write (through tmp/, also a share of a directory fsync); with few threads,
     * concurrent sessions queue behind slow syncs.
     */
    ioThreads: z.coerce.number().int().min(4).max(1024).default(16),
    /**
     * `on` for a local disk: close and rename spool files on the spot rather than in
     * the thread pool, and commit a message received whole by one synced write of its
     * final file (on ext4, XFS and btrfs that also makes the new name durable, as
     * Postfix's queue assumes). `off` when POSTAMT_DATA is a network filesystem, where
     * each of those calls is a round trip that would stall every session, and every
     * message is committed through tmp/, rename and a directory fsync.
     */
    spoolInlineMetadata: booleanish.prefault('on'),
    /** How long enqueueing may take before the client gets 451. */
    enqueueTimeoutMs: z.coerce.number().int().min(100).default(5000),
  }),
);

const checkedSchema = intakeSchema.superRefine((v, ctx) => {
  if (v.submissionAuthLockoutMax < v.submissionAuthLockout) {
    ctx.addIssue({
      code: 'custom',
      path: ['submissionAuthLockoutMax'],
      message: 'expected at least POSTAMT_SUBMISSION_AUTH_LOCKOUT',
    });
  }
  const ports = [v.smtpPort, v.submissionPort, v.submissionsPort].filter((p) => p !== 'off' && p !== 0);
  if (new Set(ports).size !== ports.length) {
    ctx.addIssue({
      code: 'custom',
      path: ['submissionPort'],
      message: 'expected POSTAMT_SMTP_PORT, _SUBMISSION_PORT and _SUBMISSIONS_PORT to differ',
    });
  }
});

export type IntakeConfig = z.output<typeof checkedSchema>;

export function loadIntakeConfig(env?: NodeJS.ProcessEnv): IntakeConfig {
  return loadConfig(checkedSchema, { service: 'intake', env });
}
