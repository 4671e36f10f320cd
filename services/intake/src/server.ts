// The MX listener: smtp-server does the SMTP protocol; this module maps its
// hooks onto Postamt's inbound policy (packages/smtp-policy), the recipient
// lookup (recipients.ts) and acceptance (accept.ts). Stages, RFC 5321 §3:
// connect (DNSBL) → MAIL FROM (HELO, FCrDNS, sender, SPF) → RCPT TO (syntax,
// directory, greylisting) → DATA (spool and queue).

import type { AddressInfo } from 'node:net';
import type { Directory } from '@postamt/directory';
import type { InboundPolicy, PolicySession } from '@postamt/smtp-policy';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { type AcceptDeps, acceptMessage } from './accept.js';
import { checkRecipient } from './recipients.js';
import { Replies, toSmtpError } from './replies.js';
import type { TlsPair } from './tls.js';

export interface MxServerOptions extends AcceptDeps {
  directory: Directory;
  policy: InboundPolicy;
  tls: TlsPair;
  port: number;
  bind: string;
  maxMessageSize: number;
  maxRecipients: number;
  maxClients: number;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

function address(a: SMTPServerAddress | false): string {
  return a ? a.address : '';
}

type Callback = (err?: Error | null) => void;

export async function startMxServer(o: MxServerOptions): Promise<RunningServer> {
  const log = o.logger.child({ listener: 'mx' });
  /** Policy state per SMTP session, from connect to close. */
  const sessions = new Map<string, PolicySession>();
  const policyOf = (s: SMTPServerSession): PolicySession => {
    let p = sessions.get(s.id);
    if (!p) {
      p = o.policy.session(s.remoteAddress);
      sessions.set(s.id, p);
    }
    return p;
  };
  /** Runs a hook step; a bug or a dependency failure is a 451, never a hang. */
  const guard = (what: string, cb: Callback, step: () => Promise<Error | undefined>) => {
    step().then(
      (err) => cb(err),
      (err: unknown) => {
        log.error({ err }, `${what} failed`);
        cb(toSmtpError(Replies.tempLookupFailure));
      },
    );
  };

  const server = new SMTPServer({
    name: o.hostname,
    banner: 'ESMTP Postamt',
    size: o.maxMessageSize,
    authOptional: true,
    // AUTH is never offered on the MX listener (RFC 4954 is for submission).
    disabledCommands: ['AUTH'],
    key: o.tls.key,
    cert: o.tls.cert,
    disableReverseLookup: true,
    maxClients: o.maxClients,
    logger: false,
    onConnect(session, callback) {
      guard('connect policy', callback, async () => {
        const d = await policyOf(session).atConnect();
        return d?.reply ? toSmtpError(d.reply) : undefined;
      });
    },
    onClose(session) {
      sessions.delete(session.id);
    },
    onMailFrom(addr, session, callback) {
      guard('sender policy', callback, async () => {
        const helo = session.hostNameAppearsAs || undefined;
        const d = await policyOf(session).atMail(helo, addr.address);
        return d?.reply ? toSmtpError(d.reply) : undefined;
      });
    },
    onRcptTo(addr, session: SMTPServerSession, callback) {
      if (session.envelope.rcptTo.length >= o.maxRecipients)
        return callback(toSmtpError(Replies.tooManyRecipients));
      guard('recipient policy', callback, async () => {
        const p = policyOf(session);
        const syntax = await p.atRcpt(addr.address);
        if (syntax?.reply) return toSmtpError(syntax.reply);
        const r = await checkRecipient(o.directory, addr.address);
        if (r) return toSmtpError(r);
        const grey = await p.greylist(address(session.envelope.mailFrom), addr.address);
        return grey?.reply ? toSmtpError(grey.reply) : undefined;
      });
    },
    onData(stream, session, callback) {
      const p = policyOf(session);
      acceptMessage(o, {
        envelope: {
          mailFrom: address(session.envelope.mailFrom),
          rcptTo: session.envelope.rcptTo.map((r) => ({ address: r.address })),
          source: 'mx',
          client: {
            ip: session.remoteAddress,
            helo: session.hostNameAppearsAs || undefined,
            ...(p.ptr ? { ptr: p.ptr } : {}),
            ...(session.secure
              ? { tls: session.tlsOptions ? session.tlsOptions.standardName || 'TLS' : 'TLS' }
              : {}),
          },
          params: {},
        },
        protocol: session.transmissionType ?? 'ESMTP',
        headers: p.headers(),
        stream,
      }).then(
        (r) => (r.code === 250 ? callback(null, `${r.status} ${r.text}`) : callback(toSmtpError(r))),
        (err: unknown) => {
          log.error({ err }, 'accept failed');
          callback(toSmtpError(Replies.tempQueueFailure));
        },
      );
    },
  });
  server.on('error', (err) => log.warn({ err }, 'smtp connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(o.port, o.bind, () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  log.info({ port, bind: o.bind }, 'listening');
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
