// The connection transport, and nothing else: splits the byte stream into
// lines, writes with back-pressure, upgrades to TLS in place (STLS), tracks
// idleness, and closes. It knows no POP3.
//
// Invariants: lines are handed out in arrival order, one at a time (which is
// what makes RFC 2449 PIPELINING safe); a line longer than `hardMaxLine`
// ends the connection instead of growing a buffer without bound; nothing
// received before a TLS upgrade is read after it.
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';

/** A complete line including its LF, or 'overflow' when the client exceeded the hard limit. */
export type Incoming = Buffer | 'overflow';

const MAX_QUEUED_LINES = 64;
/** Bytes held back while replies to pipelined commands are gathered (see hold()). */
const HOLD_LIMIT = 256 * 1024;

export interface TransportOptions {
  secure: boolean;
  hardMaxLine: number;
  idleMs: number;
  onIdle: () => void;
}

export class Transport {
  readonly remoteAddress: string;
  secure: boolean;
  private socket: Socket;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private queue: Incoming[] = [];
  private waiter: ((line: Incoming | null) => void) | null = null;
  private closed = false;
  private held = false;
  private overflowed = false;
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    socket: Socket,
    private readonly opts: TransportOptions,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.secure = opts.secure;
    this.socket = socket;
    this.attach(socket);
    this.armIdle(opts.idleMs);
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.lastActivity = Date.now();
    if (this.overflowed) return;
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, i + 1);
      const len = this.pendingLen + part.length;
      start = i + 1;
      if (len > this.opts.hardMaxLine) {
        this.overflow();
        return;
      }
      this.push(Buffer.concat([...this.pending, part], len));
      this.pending = [];
      this.pendingLen = 0;
    }
    if (start < chunk.length) {
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingLen += chunk.length - start;
      if (this.pendingLen > this.opts.hardMaxLine) {
        this.overflow();
        return;
      }
    }
    if (this.queue.length >= MAX_QUEUED_LINES) this.socket.pause();
  };

  private overflow(): void {
    this.overflowed = true;
    this.pending = [];
    this.pendingLen = 0;
    this.push('overflow');
  }

  private push(line: Incoming): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter(line);
    } else {
      this.queue.push(line);
    }
  }

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.waiter?.(null);
    this.waiter = null;
    for (const fn of this.closeListeners) fn();
  };

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  /** The next line, or null once the connection is closed. */
  nextLine(): Promise<Incoming | null> {
    const line = this.queue.shift();
    if (line !== undefined) {
      if (this.queue.length < MAX_QUEUED_LINES / 2 && !this.closed) this.socket.resume();
      return Promise.resolve(line);
    }
    if (this.closed) return Promise.resolve(null);
    // Waiting for the client: whatever is held back must go out first.
    this.release();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /**
   * Holds writes back (socket.cork) until release(), so the replies to a
   * batch of pipelined commands — status line, message, terminator, next
   * status line … — leave in one writev(2) instead of a small packet each.
   * Bounded: past HOLD_LIMIT buffered bytes, on a flushing write, and
   * whenever we wait for the client (nextLine), the held bytes are let go.
   */
  hold(): void {
    if (this.held || this.closed || this.socket.destroyed) return;
    this.socket.cork();
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.socket.uncork();
  }

  /** Writes, waiting when the socket's buffer is full; `flush` waits until the bytes left the process. */
  write(data: string | Buffer, flush = false): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    this.lastActivity = Date.now();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('close', done);
        this.socket.off('drain', done);
        resolve();
      };
      const accepted = this.socket.write(data, flush ? done : undefined);
      if (flush) return this.release();
      // While held, write() reports "full" past the small socket high-water
      // mark; we keep gathering up to our own limit, then let it all go.
      if (this.held && this.socket.writableLength < HOLD_LIMIT) return resolve();
      this.release();
      if (accepted || !this.socket.writableNeedDrain) return resolve();
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /**
   * STLS (RFC 2595 §4). Anything the client sent after the command and before
   * the handshake is thrown away, so it cannot be injected into the protected
   * session (the STARTTLS injection flaw, CVE-2011-0411).
   */
  async startTls(context: SecureContext): Promise<void> {
    this.release();
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.off('close', this.onClose);
    this.queue = [];
    this.pending = [];
    this.pendingLen = 0;
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.socket = secure;
    this.attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('closed during TLS handshake')));
    });
    this.secure = true;
  }

  /** Ends politely; destroys if the peer does not finish within 2 s. */
  close(): void {
    if (this.closed) return;
    this.release();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** RFC 1939 §3 autologout: `onIdle` runs after `ms` without traffic either way. */
  private armIdle(ms: number): void {
    const check = () => {
      const left = this.lastActivity + ms - Date.now();
      if (left <= 0) this.opts.onIdle();
      else this.idleTimer = setTimeout(check, left).unref();
    };
    this.idleTimer = setTimeout(check, ms);
    this.idleTimer.unref();
  }
}
