// The submission listeners (RFC 6409): 587 with STARTTLS and 465 with
// implicit TLS (RFC 8314 §3.3). Same SMTP layer as the MX listener, other
// policy: TLS before AUTH (538 otherwise, from the SMTP layer) and before
// MAIL (530), AUTH before MAIL (530 5.7.0, so this is never an open relay),
// then only syntax checks — an authenticated user needs no DNS legitimacy
// checks and may send anywhere — and the sender policy: MAIL FROM and, in
// `strict` mode, the From/Sender header fields must be the user's own
// address or an alias that reaches them (553 5.7.1). Accepted mail is spooled
// with source `submission` and the user, and scanned by the filter like any
// other mail.
import { createSecureContext } from 'node:tls';
import type { Directory } from '@postamt/directory';
import { checkRecipientSyntax, checkSender } from '@postamt/smtp-policy';
import {
  type AuthRequest,
  type AuthResult,
  type ClientLimiter,
  type ClientLimitOptions,
  type Session,
  type SmtpHooks,
  Replies as SmtpReplies,
  SmtpServer,
  type SmtpServerOptions,
} from '@postamt/smtp-server';
import type { TlsMaterial } from '@postamt/tls';
import { type AcceptDeps, acceptMessage } from './accept.js';
import { envelopeOf } from './envelope.js';
import { type SizedStream, splitHead } from './message-head.js';
import { Replies } from './replies.js';
import { headerSenderProblem, maySendAs, type SenderPolicy } from './sender-policy.js';

export interface SubmissionOptions extends AcceptDeps {
  directory: Directory;
  tls: TlsMaterial;
  onAuth(session: Session, req: AuthRequest): Promise<AuthResult>;
  senderPolicy: SenderPolicy;
  /** STARTTLS listener; null: none. */
  port: number | null;
  /** Implicit-TLS listener; null: none. */
  implicitPort: number | null;
  bind: string;
  proxyProtocol: boolean;
  maxMessageSize: number;
  maxRecipients: number;
  maxClients: number;
  connectionLimit: number;
  /** Counts each listener's per-client limits elsewhere (the supervisor's); absent: in this process. */
  makeLimiter?: (listener: string, limits: ClientLimitOptions) => ClientLimiter;
  maxErrors: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
}

export interface SubmissionServers {
  /** Bound ports (null when the listener is off). */
  port: number | null;
  implicitPort: number | null;
  close(drainMs?: number): Promise<void>;
}

export function submissionHooks(o: SubmissionOptions): SmtpHooks {
  const log = o.logger.child({ listener: 'submission' });
  return {
    onAuth: o.onAuth,
    async onMailFrom(session, from) {
      // RFC 3207 §4 and RFC 4954 §4: nothing is accepted before TLS and AUTH.
      if (!session.tls) return SmtpReplies.tlsRequired;
      if (!session.user) return SmtpReplies.authRequired;
      const syntax = checkSender(from.address);
      if (syntax.result === 'fail') return syntax.reply;
      if (o.senderPolicy !== 'off' && !(await maySendAs(o.directory, session.user, from.address))) {
        log.warn({ session: session.id, user: session.user, from: from.address }, 'sender not owned by user');
        return Replies.senderNotOwned;
      }
      return null;
    },
    async onRcptTo(session, rcpt) {
      if (!session.user) return SmtpReplies.authRequired;
      const syntax = checkRecipientSyntax(rcpt.address);
      if (syntax.result === 'fail') return syntax.reply;
      // Authenticated relay: any remote recipient; a local one must exist (no bounce later).
      const r = await o.directory.resolve(rcpt.address);
      return r.kind === 'unknown' ? Replies.unknownUser : null;
    },
    async onData(session, stream) {
      const user = session.user ?? '';
      let message: SizedStream = stream;
      if (o.senderPolicy === 'strict') {
        const split = await splitHead(stream);
        const problem = await headerSenderProblem(o.directory, user, split.head.toString('latin1'));
        if (problem) {
          split.abandon();
          log.warn({ session: session.id, user, problem }, 'header sender not owned by user');
          return Replies.headerFromNotOwned;
        }
        message = split.message;
      }
      return acceptMessage(o, {
        envelope: envelopeOf(session, 'submission', { authUser: user }),
        protocol: session.transmissionType,
        stream: message,
      });
    },
  };
}

export async function startSubmissionServers(o: SubmissionOptions): Promise<SubmissionServers> {
  const hooks = submissionHooks(o);
  const secureContext = createSecureContext({ key: o.tls.key, cert: o.tls.cert });
  const base = (implicit: boolean, name: string): SmtpServerOptions => {
    const limits: ClientLimitOptions = {
      connections: o.connectionLimit,
      messages: 0,
      recipients: 0,
      windowMs: 60_000,
    };
    return {
      hostname: o.hostname,
      banner: 'ESMTP Postamt',
      maxMessageSize: o.maxMessageSize,
      maxRecipients: o.maxRecipients,
      maxClients: o.maxClients,
      tls: { secureContext, implicit },
      proxyProtocol: implicit ? false : o.proxyProtocol,
      // Users' clients are not spam bots: no pregreet wait, no per-client message rates.
      pregreetWaitMs: 0,
      limits,
      limiter: o.makeLimiter?.(name, limits),
      maxErrors: o.maxErrors,
      timeouts: { command: o.commandTimeoutMs, data: o.dataTimeoutMs },
      // This mail goes on to other servers: a smuggling signature never leaves here.
      bareNewlineDot: 'reject',
      logger: o.logger.child({ listener: name }),
    };
  };
  const servers: SmtpServer[] = [];
  const listen = async (port: number | null, implicit: boolean, name: string) => {
    if (port === null) return null;
    const server = new SmtpServer(base(implicit, name), hooks);
    const bound = await server.listen(port, o.bind);
    servers.push(server);
    o.logger.info({ listener: name, port: bound, bind: o.bind }, 'listening');
    return bound;
  };
  const port = await listen(o.port, false, 'submission');
  const implicitPort = await listen(o.implicitPort, true, 'submissions');
  return {
    port,
    implicitPort,
    close: async (drainMs) => {
      await Promise.all(servers.map((s) => s.close(drainMs)));
    },
  };
}
