// clamd sessions (clamd(8) "IDSESSION"): one TCP connection carries many
// INSTREAM scans, one at a time, instead of a connect + accept + close per
// message — the biggest part of what a scan cost the client. Replies come
// back as "<id>: stream: OK\0" (parseClamdReply strips the id).
//
// A session is kept for the next scan only after a whole, ordinary reply
// (clean or infected) to a request that was sent to its end; after anything
// else (error, limit, timeout, a source that failed mid-stream, a reply before
// the end of our stream) the connection's state is unknown, so it is dropped.
// clamd closes a session idle for its IdleTimeout (default 30 s); we drop
// ours sooner (`maxIdleMs`), and a reused session that the server closed
// before any reply byte is reported `stale`, so the caller can retry on a
// fresh connection. Every outcome is a value; nothing throws.
import { Socket } from 'node:net';
import type { Deadlines, Endpoint } from './deadlines.js';
import type { ExchangeFailure, ExchangeResult } from './exchange.js';

export type SessionResult = ExchangeResult & {
  /** A reused session closed by the server before any reply byte: safe to retry on a fresh one. */
  stale?: boolean;
};

type Send = (write: (chunk: Buffer) => Promise<boolean>) => Promise<void>;

class ClamdSession {
  private readonly sock = new Socket();
  private chunks: Buffer[] = [];
  private settle: ((r: SessionResult) => void) | null = null;
  private alive = true;
  /** Scans answered on this connection so far. */
  uses = 0;
  idleSince = 0;

  constructor(private readonly deadlines: Deadlines) {
    this.sock.setNoDelay(true);
    this.sock.on('error', (err: NodeJS.ErrnoException) => this.broken(err.code ?? err.message));
    this.sock.on('end', () => this.broken('connection closed'));
    this.sock.on('close', () => this.broken('connection closed'));
    this.sock.on('timeout', () => this.fail('timeout', `idle for ${this.deadlines.idleMs} ms`));
    this.sock.on('data', (d: Buffer) => {
      // Bytes while no request is pending: the session is out of step.
      if (!this.settle) {
        this.destroy();
        return;
      }
      this.chunks.push(d);
      if (d.includes(0)) this.finish({ ok: true, reply: Buffer.concat(this.chunks) });
    });
  }

  get usable(): boolean {
    return this.alive && !this.sock.destroyed;
  }

  /** Connects and opens the session; null (with the failure) when that fails. */
  connect(endpoint: Endpoint): Promise<SessionResult | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve(failure('connect-timeout', `no connection within ${this.deadlines.connectMs} ms`));
      }, this.deadlines.connectMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        this.destroy();
        resolve(failure(err.code === 'ECONNREFUSED' ? 'refused' : 'io', err.code ?? err.message));
      };
      this.sock.once('error', onError);
      this.sock.connect(endpoint.port, endpoint.host, () => {
        clearTimeout(timer);
        this.sock.off('error', onError);
        this.sock.write('zIDSESSION\0');
        resolve(null);
      });
    });
  }

  /** One request on the session; `send` writes it (zINSTREAM + chunks + end). */
  request(send: Send): Promise<SessionResult> {
    if (!this.usable) return Promise.resolve(failure('io', 'connection closed'));
    return new Promise((resolve) => {
      const total = setTimeout(
        () => this.fail('timeout', `no complete reply within ${this.deadlines.totalMs} ms`),
        this.deadlines.totalMs,
      );
      let sent = false;
      this.chunks = [];
      this.settle = (r) => {
        clearTimeout(total);
        this.settle = null;
        this.chunks = [];
        this.uses++;
        // Only a request sent whole and answered in the ordinary way leaves the session in step.
        const ordinary = r.ok && sent && /(?: OK| FOUND)\0/.test(r.reply.toString('latin1'));
        if (ordinary && this.usable) {
          this.sock.setTimeout(0);
          this.sock.unref();
          this.idleSince = Date.now();
        } else this.destroy();
        resolve(r);
      };
      this.sock.ref();
      this.sock.setTimeout(this.deadlines.idleMs);
      send(this.write).then(
        () => {
          sent = true;
        },
        (err: unknown) => this.fail('source', err instanceof Error ? err.message : String(err)),
      );
    });
  }

  /** Ends the session politely (when idle) or at once. */
  close(): void {
    if (this.usable && !this.settle) this.sock.end('zEND\0');
    else this.destroy();
    this.alive = false;
  }

  private readonly write = (chunk: Buffer): Promise<boolean> => {
    if (!this.settle || !this.usable || !this.sock.writable) return Promise.resolve(false);
    if (this.sock.write(chunk)) return Promise.resolve(true);
    return new Promise((res) => {
      const done = () => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        res(this.settle !== null && this.sock.writable);
      };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  };

  private finish(r: SessionResult): void {
    this.settle?.(r);
  }

  private fail(reason: ExchangeFailure, detail: string): void {
    if (!this.settle) {
      this.destroy();
      return;
    }
    const got = Buffer.concat(this.chunks);
    this.finish({ ok: false, reason, detail, reply: got });
  }

  /** The server closed or the socket failed: fatal for a pending request, and the session is gone. */
  private broken(detail: string): void {
    const wasAlive = this.alive;
    this.alive = false;
    if (!this.settle) {
      this.destroy();
      return;
    }
    const got = Buffer.concat(this.chunks);
    // A whole reply wins over the EPIPE/ECONNRESET a pending write then sees (see exchange.ts).
    if (got.includes(0)) {
      this.finish({ ok: true, reply: got });
      return;
    }
    const stale = wasAlive && got.length === 0 && this.uses > 0;
    this.finish({ ok: false, reason: 'io', detail, reply: got, ...(stale ? { stale } : {}) });
  }

  private destroy(): void {
    this.alive = false;
    this.sock.destroy();
  }
}

function failure(reason: ExchangeFailure, detail: string): SessionResult {
  return { ok: false, reason, detail, reply: Buffer.alloc(0) };
}

/** Idle sessions to one clamd, reused by scans; scans in parallel each take their own. */
export class ClamdSessionPool {
  private idle: ClamdSession[] = [];

  constructor(
    private readonly endpoint: Endpoint,
    private readonly deadlines: Deadlines,
    /** Idle sessions kept at most. */
    private readonly maxIdle = 8,
    /** A session idle longer is not reused (below clamd's IdleTimeout, 30 s by default). */
    private readonly maxIdleMs = 10_000,
  ) {}

  /**
   * Runs one request on an idle session, or on a new one when there is none
   * (or when the request is not `replayable`). A reused session found closed by the server is retried
   * once on a new connection when `replayable` (the caller can send again).
   */
  async request(send: Send, replayable: boolean): Promise<SessionResult> {
    // A stream cannot be sent twice: it goes on a new connection, which cannot be stale.
    const reused = replayable ? this.take() : null;
    if (reused) {
      const r = await this.run(reused, send);
      if (!(r.ok === false && r.stale && replayable)) return r;
    }
    const session = new ClamdSession(this.deadlines);
    const failed = await session.connect(this.endpoint);
    if (failed) return failed;
    return this.run(session, send);
  }

  /** Closes the idle sessions (in-flight ones close when they finish). */
  close(): void {
    for (const s of this.idle) s.close();
    this.idle = [];
  }

  private take(): ClamdSession | null {
    const now = Date.now();
    for (let s = this.idle.pop(); s; s = this.idle.pop()) {
      if (s.usable && now - s.idleSince < this.maxIdleMs) return s;
      s.close();
    }
    return null;
  }

  private async run(session: ClamdSession, send: Send): Promise<SessionResult> {
    const r = await session.request(send);
    if (session.usable) {
      if (this.idle.length < this.maxIdle) this.idle.push(session);
      else session.close();
    }
    return r;
  }
}
