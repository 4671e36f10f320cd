// The listeners: plain POP3 (STLS-capable) and implicit TLS (RFC 8314 §3.3),
// connection limits (total and per client address), and the hand-over of each
// connection to a Session. `startPop3Server` is what main.ts and the tests call.
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { Logger, Registry } from '@postamt/observability';
import { dispatch } from './commands/index.js';
import type { PlaintextPolicy } from './config.js';
import { SizeCache } from './maildrop.js';
import { createPop3Metrics } from './metrics.js';
import { formatReply, R } from './responses.js';
import { type Authenticator, Session, type SessionLimits } from './session.js';
import { Transport } from './transport.js';

export interface Pop3ServerOptions {
  bind: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** null: no implicit-TLS listener. */
  tlsPort: number | null;
  hostname: string;
  dataDir: string;
  tls: { key: Buffer; cert: Buffer };
  directory: Authenticator;
  logger: Logger;
  registry: Registry;
  allowPlaintext: PlaintextPolicy;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Messages up to this many octets are read with blocking calls; default 64 KiB, 0 never. */
  syncReadMax?: number;
  limits: Omit<SessionLimits, 'lockStaleMs'> & { lockStaleMs?: number };
}

export interface Pop3Server {
  port: number;
  tlsPort: number | null;
  /** Stops accepting, ends open sessions without committing them, waits for them. */
  close(): Promise<void>;
}

/** Slack above the command limit before a line is abuse rather than a mistake (SASL lines fit). */
const HARD_LINE_LIMIT = 16 * 1024;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A reconnect storm must queue, not overflow the kernel's accept queue (capped by net.core.somaxconn).
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export async function startPop3Server(opts: Pop3ServerOptions): Promise<Pop3Server> {
  const secureContext = createSecureContext({ ...opts.tls, minVersion: 'TLSv1.2' });
  const metrics = createPop3Metrics(opts.registry);
  const deps = {
    hostname: opts.hostname,
    dataDir: opts.dataDir,
    directory: opts.directory,
    logger: opts.logger,
    secureContext,
    sizes: new SizeCache(opts.syncReadMax ?? 64 * 1024),
    metrics,
    allowPlaintext: opts.allowPlaintext,
    limits: { lockStaleMs: 5 * 60_000, ...opts.limits },
  };
  const sessions = new Set<Session>();
  const perIp = new Map<string, number>();
  const running = new Set<Promise<void>>();

  const accept = (socket: Socket, listener: 'pop3' | 'pop3s') => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const ip = socket.remoteAddress ?? 'unknown';
    const fromIp = perIp.get(ip) ?? 0;
    if (sessions.size >= opts.maxConnections || fromIp >= opts.maxConnectionsPerIp) {
      opts.logger.warn({ client: ip, listener }, 'connection refused: limit reached');
      socket.end(formatReply(R.tooManyConnections));
      return;
    }
    perIp.set(ip, fromIp + 1);
    metrics.connections.inc({ listener });
    metrics.active.inc();
    let session: Session | undefined;
    const transport = new Transport(socket, {
      secure: listener === 'pop3s',
      hardMaxLine: HARD_LINE_LIMIT,
      idleMs: opts.idleTimeoutMs,
      onIdle: () => void session?.abort(R.idle),
    });
    session = new Session(transport, deps);
    sessions.add(session);
    const done = session.run(dispatch).finally(() => {
      sessions.delete(session);
      running.delete(done);
      metrics.active.dec();
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
    });
    running.add(done);
  };

  const plain = createNetServer((socket) => accept(socket, 'pop3'));
  const port = await listen(plain, opts.port, opts.bind);
  let implicit: Server | null = null;
  let tlsPort: number | null = null;
  if (opts.tlsPort !== null) {
    const tlsServer = createTlsServer({ ...opts.tls, minVersion: 'TLSv1.2' }, (socket) =>
      accept(socket, 'pop3s'),
    );
    tlsServer.on('tlsClientError', (err) => opts.logger.debug({ err: err.message }, 'TLS handshake failed'));
    implicit = tlsServer;
    tlsPort = await listen(tlsServer, opts.tlsPort, opts.bind);
  }
  opts.logger.info({ port, tlsPort }, 'pop3 listening');

  return {
    port,
    tlsPort,
    async close() {
      const closed = [plain, implicit].map(
        (s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())),
      );
      for (const s of sessions) void s.abort(R.shuttingDown);
      await Promise.all([...running]);
      await Promise.all(closed);
    },
  };
}
