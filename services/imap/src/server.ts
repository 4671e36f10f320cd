// The listeners: plain IMAP (STARTTLS-capable) and implicit TLS (RFC 8314
// §3.3), connection limits, idle autologout (RFC 3501 §5.4), and the
// hand-over of each connection to a Session. `startImapServer` is what
// main.ts and the tests call.
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { Counter, type Logger, type Registry } from '@postamt/observability';
import { dispatch } from './commands/index.js';
import type { PlaintextPolicy } from './config.js';
import type { Learner } from './learn.js';
import type { MailEventSource } from './mail-events.js';
import { formatStatus, R } from './responses.js';
import { type Authenticator, Session, type SessionLimits } from './session.js';
import type { StoreProvider } from './store.js';
import { Transport } from './transport.js';

export interface ImapServerOptions {
  bind: string;
  port: number;
  tlsPort: number | null;
  hostname: string;
  tls: { key: Buffer; cert: Buffer };
  directory: Authenticator;
  stores: StoreProvider;
  events: MailEventSource;
  learner: Learner;
  logger: Logger;
  registry: Registry;
  allowPlaintext: PlaintextPolicy;
  maxConnections: number;
  maxConnectionsPerIp: number;
  limits: SessionLimits;
  /** How long close() lets in-flight commands finish before cutting them off. */
  shutdownGraceMs?: number;
}

export interface ImapServer {
  port: number;
  tlsPort: number | null;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A reconnect storm (thousands of clients after a restart) must queue, not overflow the kernel's accept queue.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export async function startImapServer(opts: ImapServerOptions): Promise<ImapServer> {
  const secureContext = createSecureContext({ ...opts.tls, minVersion: 'TLSv1.2' });
  const registers = [opts.registry];
  const connections = new Counter({
    name: 'postamt_imap_connections_total',
    help: 'IMAP connections accepted, by listener',
    labelNames: ['listener'],
    registers,
  });
  const commandCount = new Counter({
    name: 'postamt_imap_commands_total',
    help: 'IMAP commands handled, by command',
    labelNames: ['command'],
    registers,
  });
  const deps = {
    hostname: opts.hostname,
    directory: opts.directory,
    stores: opts.stores,
    events: opts.events,
    learner: opts.learner,
    logger: opts.logger,
    secureContext,
    allowPlaintext: opts.allowPlaintext,
    limits: opts.limits,
    onCommand: (command: string) => commandCount.inc({ command }),
  };
  const sessions = new Set<Session>();
  const running = new Set<Promise<void>>();
  const perIp = new Map<string, number>();

  const accept = (socket: Socket, listener: 'imap' | 'imaps') => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const ip = socket.remoteAddress ?? 'unknown';
    const fromIp = perIp.get(ip) ?? 0;
    if (sessions.size >= opts.maxConnections || fromIp >= opts.maxConnectionsPerIp) {
      socket.end(formatStatus('*', { kind: 'BYE', text: 'Too many connections', code: 'UNAVAILABLE' }));
      return;
    }
    perIp.set(ip, fromIp + 1);
    connections.inc({ listener });
    const transport = new Transport(socket, listener === 'imaps');
    const session = new Session(transport, deps);
    sessions.add(session);
    const idleCheck = setInterval(
      () => {
        if (Date.now() - transport.lastActivity > opts.limits.idleTimeoutMs) void session.abort(R.byeIdle);
      },
      Math.min(opts.limits.idleTimeoutMs, 60_000),
    );
    idleCheck.unref();
    const done = session.run(dispatch).finally(() => {
      clearInterval(idleCheck);
      sessions.delete(session);
      running.delete(done);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
    });
    running.add(done);
  };

  const plain = createNetServer((s) => accept(s, 'imap'));
  const port = await listen(plain, opts.port, opts.bind);
  let implicit: Server | null = null;
  let tlsPort: number | null = null;
  if (opts.tlsPort !== null) {
    const t = createTlsServer({ ...opts.tls, minVersion: 'TLSv1.2' }, (s) => accept(s, 'imaps'));
    t.on('tlsClientError', (err) => opts.logger.debug({ err: err.message }, 'TLS handshake failed'));
    implicit = t;
    tlsPort = await listen(t, opts.tlsPort, opts.bind);
  }
  opts.logger.info({ port, tlsPort }, 'imap listening');
  return {
    port,
    tlsPort,
    async close() {
      const closed = [plain, implicit].map(
        (s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())),
      );
      // Graceful stop: no new connections (above); every session hears BYE (RFC 3501 §7.1.5),
      // those with a command in flight after its reply — within a deadline.
      for (const s of sessions) void s.shutdown(R.byeShutdown);
      const hard = setTimeout(() => {
        for (const s of sessions) void s.abort(R.byeShutdown);
      }, opts.shutdownGraceMs ?? 20_000);
      hard.unref();
      await Promise.all([...running]);
      clearTimeout(hard);
      await Promise.all(closed);
    },
  };
}
