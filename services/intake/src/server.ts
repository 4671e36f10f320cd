// The MX listener: @postamt/smtp-server speaks SMTP; this module plugs
// Postamt's inbound policy (packages/smtp-policy), the recipient lookup
// (recipients.ts) and acceptance (accept.ts) into its hooks. Stages, RFC 5321
// §3: connect (DNSBL) → MAIL FROM (HELO, FCrDNS, sender, SPF — HELO is judged
// here, as Postfix's smtpd_delay_reject does) → RCPT TO (syntax, directory,
// greylisting) → DATA (spool and queue).

import { createSecureContext } from 'node:tls';
import type { Directory } from '@postamt/directory';
import { type Cidr, type InboundPolicy, inCidrs, type PolicySession } from '@postamt/smtp-policy';
import {
  type ClientLimiter,
  type ClientLimitOptions,
  type PassedClientStore,
  type Session,
  type SmtpHooks,
  SmtpServer,
} from '@postamt/smtp-server';
import type { TlsMaterial } from '@postamt/tls';
import { type AcceptDeps, acceptMessage } from './accept.js';
import { envelopeOf } from './envelope.js';
import { checkRecipient } from './recipients.js';

export interface MxServerOptions extends AcceptDeps {
  directory: Directory;
  policy: InboundPolicy;
  tls: TlsMaterial;
  port: number;
  bind: string;
  maxMessageSize: number;
  maxRecipients: number;
  maxClients: number;
  proxyProtocol: boolean;
  pregreetWaitMs: number;
  /** Clients greeted without the pregreet wait. */
  pregreetExceptions: readonly Cidr[];
  passedClients: PassedClientStore;
  limits: {
    connections: number;
    connectionRate: number;
    messages: number;
    recipients: number;
    windowMs: number;
    exceptions: readonly Cidr[];
  };
  /** Counts the limits (e.g. rates shared through Redis); absent: in this process. */
  makeLimiter?: (limits: ClientLimitOptions) => ClientLimiter;
  /** Sees every client address (the gateway watch). */
  onClient?: (ip: string) => void;
  maxErrors: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
  bareNewlineDot: 'accept' | 'reject';
}

export interface RunningServer {
  port: number;
  /** Busy sessions get `drainMs` to finish (default: the SMTP server's). */
  close(drainMs?: number): Promise<void>;
}

export async function startMxServer(o: MxServerOptions): Promise<RunningServer> {
  const log = o.logger.child({ listener: 'mx' });
  /** Policy state per SMTP session, from connect to close. */
  const policies = new WeakMap<Session, PolicySession>();
  const policyOf = (s: Session): PolicySession => {
    let p = policies.get(s);
    if (!p) {
      p = o.policy.session(s.remoteAddress);
      policies.set(s, p);
    }
    return p;
  };

  const hooks: SmtpHooks = {
    async onConnect(session) {
      o.onClient?.(session.remoteAddress);
      const d = await policyOf(session).atConnect();
      return d?.reply ?? null;
    },
    async onMailFrom(session, from) {
      const d = await policyOf(session).atMail(session.helo?.name, from.address);
      return d?.reply ?? null;
    },
    async onRcptTo(session, rcpt) {
      const p = policyOf(session);
      const syntax = await p.atRcpt(rcpt.address);
      if (syntax?.reply) return syntax.reply;
      const r = await checkRecipient(o.directory, rcpt.address);
      if (r) return r;
      const grey = await p.greylist(session.mailFrom?.address ?? '', rcpt.address);
      return grey?.reply ?? null;
    },
    onData(session, stream) {
      const p = policyOf(session);
      return acceptMessage(o, {
        envelope: envelopeOf(session, 'mx', p.ptr ? { ptr: p.ptr } : {}),
        protocol: session.transmissionType,
        headers: p.headers(),
        stream,
      });
    },
  };

  const limits: ClientLimitOptions = {
    connections: o.limits.connections,
    connectionRate: o.limits.connectionRate,
    messages: o.limits.messages,
    recipients: o.limits.recipients,
    windowMs: o.limits.windowMs,
    exempt: (ip) => inCidrs(ip, o.limits.exceptions),
  };
  const server = new SmtpServer(
    {
      hostname: o.hostname,
      banner: 'ESMTP Postamt',
      maxMessageSize: o.maxMessageSize,
      maxRecipients: o.maxRecipients,
      maxClients: o.maxClients,
      // AUTH is never offered on the MX listener (RFC 4954 is for submission): no onAuth hook.
      tls: { secureContext: createSecureContext({ key: o.tls.key, cert: o.tls.cert }) },
      proxyProtocol: o.proxyProtocol,
      pregreetWaitMs: o.pregreetWaitMs,
      passedClients: o.passedClients,
      pregreetExempt: (ip) => inCidrs(ip, o.pregreetExceptions),
      limits,
      limiter: o.makeLimiter?.(limits),
      maxErrors: o.maxErrors,
      timeouts: { command: o.commandTimeoutMs, data: o.dataTimeoutMs },
      bareNewlineDot: o.bareNewlineDot,
      logger: log,
    },
    hooks,
  );
  const port = await server.listen(o.port, o.bind);
  log.info({ port, bind: o.bind, proxyProtocol: o.proxyProtocol }, 'listening');
  return { port, close: (drainMs) => server.close(drainMs) };
}
