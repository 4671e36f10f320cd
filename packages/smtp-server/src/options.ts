// The SMTP layer's settings, with their defaults. Limits follow RFC 5321
// §4.5.3 and the timeouts §4.5.3.2; counters follow Postfix's smtpd.

import type { SecureContext } from 'node:tls';
import type { ClientLimiter, ClientLimitOptions } from './limits.js';
import type { PassedClientStore } from './pregreet.js';

/** pino-compatible: `(object, message)`. */
export interface SmtpLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Timeouts {
  /** RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for the next command. */
  command: number;
  /** RFC 5321 §4.5.3.2.5: 3 minutes between two blocks of DATA. */
  data: number;
  /** For onConnect/onHelo/onMailFrom/onRcptTo/onAuth (the client waits 5 minutes, §4.5.3.2.2–3). */
  hook: number;
  /** For onData once DATA ended; below the client's 10 minutes (§4.5.3.2.6). */
  dataHook: number;
  proxyHeader: number;
  tlsHandshake: number;
}

export interface SmtpServerOptions {
  /** Our FQDN: greeting, EHLO reply. */
  hostname: string;
  /** Greeting text after the host name. */
  banner?: string;
  /** Octets, after dot-unstuffing (RFC 1870). */
  maxMessageSize: number;
  /** RFC 5321 §4.5.3.1.8: at least 100. */
  maxRecipients?: number;
  /**
   * Offered as STARTTLS when set; with `implicit` the whole connection is TLS
   * from the first octet (RFC 8314 §3.3, port 465) and STARTTLS is not offered.
   */
  tls?: { secureContext: SecureContext; implicit?: boolean };
  /** Expect a PROXY v1/v2 header first on every connection (only behind a balancer). */
  proxyProtocol?: boolean;
  /** Wait for clients not seen passing recently; 0 = greet everyone at once (still checks waiting input). */
  pregreetWaitMs?: number;
  passedClients?: PassedClientStore;
  /**
   * Clients greeted without the pregreet wait (as postscreen_access_list);
   * input waiting at the greeting still counts as talking too soon.
   */
  pregreetExempt?: (ip: string) => boolean;
  limits?: ClientLimitOptions;
  /** Replaces the in-memory limiter built from `limits` (e.g. one shared by replicas). */
  limiter?: ClientLimiter;
  maxClients?: number;
  timeouts?: Partial<Timeouts>;
  /** Protocol errors (syntax, sequence, unknown commands) before 421 (Postfix smtpd_hard_error_limit). */
  maxErrors?: number;
  /** Unknown commands before 421. */
  maxUnknownCommands?: number;
  /** NOOP/RSET/VRFY/EXPN/HELP before 421 (Postfix smtpd_junk_command_limit). */
  maxJunkCommands?: number;
  /**
   * A message with a dot next to a bare CR or LF (`\n.\n`, `\r\n.\n`, `\n.\r\n`,
   * `\r.\r`): it never ends DATA here; `reject` also refuses the message with
   * 550 5.6.0, so it cannot smuggle through a weaker server further on.
   */
  bareNewlineDot?: 'accept' | 'reject';
  authMechanisms?: readonly string[];
  logger?: SmtpLogger;
}

export type ResolvedOptions = Required<
  Omit<SmtpServerOptions, 'tls' | 'limits' | 'limiter' | 'timeouts' | 'passedClients'>
> & {
  tls: SmtpServerOptions['tls'];
  limits: ClientLimitOptions;
  timeouts: Timeouts;
  passedClients: PassedClientStore | undefined;
};

const silent: SmtpLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function resolveOptions(o: SmtpServerOptions): ResolvedOptions {
  return {
    hostname: o.hostname,
    banner: o.banner ?? 'ESMTP',
    maxMessageSize: o.maxMessageSize,
    maxRecipients: o.maxRecipients ?? 100,
    tls: o.tls,
    proxyProtocol: o.proxyProtocol ?? false,
    pregreetWaitMs: o.pregreetWaitMs ?? 0,
    passedClients: o.passedClients,
    pregreetExempt: o.pregreetExempt ?? (() => false),
    limits: o.limits ?? { connections: 0, messages: 0, recipients: 0, windowMs: 60_000 },
    maxClients: o.maxClients ?? 1000,
    timeouts: {
      command: 300_000,
      data: 180_000,
      hook: 120_000,
      dataHook: 540_000,
      proxyHeader: 10_000,
      tlsHandshake: 30_000,
      ...o.timeouts,
    },
    maxErrors: o.maxErrors ?? 10,
    maxUnknownCommands: o.maxUnknownCommands ?? 5,
    maxJunkCommands: o.maxJunkCommands ?? 100,
    bareNewlineDot: o.bareNewlineDot ?? 'accept',
    authMechanisms: o.authMechanisms ?? ['PLAIN', 'LOGIN'],
    logger: o.logger ?? silent,
  };
}
