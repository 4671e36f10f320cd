// The listener: accepts TCP connections and runs one Connection per client.
// It owns what is shared between sessions — the per-client limits, the memory
// of clients that passed the pregreet wait, the total connection cap — and a
// graceful close (idle sessions get 421, busy ones finish their command).
// With `tls.implicit` (RFC 8314 §3.3, port 465) the listener is a TLS server:
// a session starts only once the handshake is done.

import cluster from 'node:cluster';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { Connection } from './connection.js';
import type { SmtpHooks } from './hooks.js';
import { type ClientLimiter, ClientLimits } from './limits.js';
import { type ResolvedOptions, resolveOptions, type SmtpServerOptions } from './options.js';
import { MemoryPassedClients } from './pregreet.js';
import { formatReply, Replies } from './replies.js';

export class SmtpServer {
  readonly options: ResolvedOptions;
  private readonly limits: ClientLimiter;
  private readonly connections = new Set<Connection>();
  private readonly server: Server;

  constructor(
    options: SmtpServerOptions,
    private readonly hooks: SmtpHooks,
  ) {
    const o = resolveOptions(options);
    if (o.pregreetWaitMs > 0 && !o.passedClients) o.passedClients = new MemoryPassedClients(24 * 3600_000);
    this.options = o;
    this.limits = options.limiter ?? new ClientLimits(o.limits);
    // Half-open: a client may pipeline its last commands and shut down its side;
    // it still gets every reply before we close ours.
    // The PROXY header would precede the TLS handshake; not supported together.
    if (o.tls?.implicit && o.proxyProtocol)
      throw new Error('proxyProtocol cannot be combined with implicit TLS');
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      o.tls?.implicit ? this.handshake(socket, o.tls.secureContext) : this.accept(socket),
    );
    this.server.on('error', (err) => o.logger.error({ err }, 'listener error'));
  }

  /** Implicit TLS: the session starts once the handshake is done, within the handshake timeout. */
  private handshake(plain: Socket, secureContext: SecureContext): void {
    const secure = new TLSSocket(plain, { isServer: true, secureContext });
    const log = this.options.logger;
    const timer = setTimeout(() => {
      log.info({ client: plain.remoteAddress }, 'TLS handshake timed out');
      secure.destroy();
    }, this.options.timeouts.tlsHandshake);
    const fail = (err?: Error) => {
      clearTimeout(timer);
      log.info({ client: plain.remoteAddress, err: err?.message }, 'TLS handshake failed');
      secure.destroy();
    };
    secure.once('error', fail);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      this.accept(secure);
    });
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.options.maxClients) {
      socket.on('error', () => {});
      socket.end(formatReply(Replies.tooManyConnections));
      return;
    }
    const conn = new Connection(socket, this.options, this.hooks, this.limits);
    this.connections.add(conn);
    conn.run().finally(() => this.connections.delete(conn));
  }

  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // Bursts of connections queue in the kernel instead of overflowing its accept queue (capped by somaxconn).
      // In a node:cluster worker each worker binds its own socket (SO_REUSEPORT) and the kernel spreads
      // connections over them; otherwise the primary would accept each one and pass it over IPC. Port 0
      // must stay shared through the primary, or each worker would get a different port.
      const reusePort = cluster.isWorker && port !== 0;
      this.server.listen({ port, host, backlog: 4096, reusePort }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  get size(): number {
    return this.connections.size;
  }

  /** Stops listening; idle sessions get 421 at once, busy ones within `graceMs`, then are cut. */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of this.connections) c.destroy();
    await closed;
  }
}
