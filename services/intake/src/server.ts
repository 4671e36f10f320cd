// The MX listener: smtp-server does the SMTP protocol; this module maps its
// hooks onto Postamt's policy (recipients.ts) and acceptance (accept.ts).

import type { AddressInfo } from 'node:net';
import type { Directory } from '@postamt/directory';
import type { Logger } from '@postamt/observability';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { type AcceptDeps, acceptMessage } from './accept.js';
import { checkRecipient } from './recipients.js';
import { Replies, toSmtpError } from './replies.js';

export interface MxServerOptions extends AcceptDeps {
  directory: Directory;
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

export async function startMxServer(o: MxServerOptions): Promise<RunningServer> {
  const log = o.logger.child({ listener: 'mx' });
  const server = new SMTPServer({
    name: o.hostname,
    banner: 'ESMTP Postamt',
    size: o.maxMessageSize,
    authOptional: true,
    // Issue 4 adds STARTTLS and the inbound checks; AUTH is never offered on the MX listener.
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    maxClients: o.maxClients,
    logger: false,
    onRcptTo(addr, session: SMTPServerSession, callback) {
      if (session.envelope.rcptTo.length >= o.maxRecipients)
        return callback(toSmtpError(Replies.tooManyRecipients));
      checkRecipient(o.directory, addr.address).then(
        (r) => callback(r ? toSmtpError(r) : undefined),
        (err: unknown) => {
          log.error({ err }, 'recipient lookup failed');
          callback(toSmtpError(Replies.tempLookupFailure));
        },
      );
    },
    onData(stream, session, callback) {
      acceptMessage(o, {
        envelope: {
          mailFrom: address(session.envelope.mailFrom),
          rcptTo: session.envelope.rcptTo.map((r) => ({ address: r.address })),
          source: 'mx',
          client: {
            ip: session.remoteAddress,
            helo: session.hostNameAppearsAs,
            ...(session.secure ? { tls: 'TLS' } : {}),
          },
          params: {},
        },
        protocol: session.transmissionType ?? 'ESMTP',
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
