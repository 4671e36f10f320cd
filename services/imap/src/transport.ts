// The connection transport, and nothing else: reads lines (bounded) and
// exact byte counts (literals), writes with back-pressure, upgrades to TLS
// in place, and closes. It knows no IMAP.
//
// Invariants: at most `maxBuffered` bytes are held that nobody asked for
// (the socket is paused beyond that); a line longer than the limit is
// reported as 'overflow' instead of growing a buffer; nothing received
// before a TLS upgrade is read after it (CVE-2011-0411 class).
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';

export type LineResult = Buffer | 'overflow' | null;

export class Transport {
  readonly remoteAddress: string;
  secure: boolean;
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly closeListeners: Array<() => void> = [];
  lastActivity = Date.now();

  constructor(
    socket: Socket,
    secure: boolean,
    private readonly maxBuffered = 256 * 1024,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.secure = secure;
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.lastActivity = Date.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.buf.length > this.maxBuffered) this.socket.pause();
    this.notify();
  };

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.notify();
    for (const fn of this.closeListeners) fn();
  };

  get isClosed(): boolean {
    return this.closed;
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  private wait(): Promise<void> {
    this.socket.resume();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Bytes already received and not yet read (IDLE uses it to notice DONE). */
  get hasInput(): boolean {
    return this.buf.length > 0;
  }

  /** The next line with its LF; 'overflow' past `max` bytes (the rest of that line is discarded); null on close. */
  async readLine(max: number): Promise<LineResult> {
    let skipping = false;
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf >= 0) {
        const line = this.buf.subarray(0, lf + 1);
        this.buf = this.buf.subarray(lf + 1);
        if (skipping || line.length > max) return 'overflow';
        return line;
      }
      if (this.buf.length > max) {
        skipping = true;
        this.buf = Buffer.alloc(0);
      }
      if (this.closed) return null;
      await this.wait();
    }
  }

  /** Exactly `n` bytes (a literal), or null on close. The caller has capped `n`. */
  async readBytes(n: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (this.buf.length) {
        const take = Math.min(n - got, this.buf.length);
        parts.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        got += take;
        continue;
      }
      if (this.closed) return null;
      await this.wait();
    }
    return Buffer.concat(parts, n);
  }

  /** Resolves when input arrives or the connection closes (IDLE). */
  async waitInput(): Promise<void> {
    if (this.buf.length || this.closed) return;
    await this.wait();
  }

  write(data: string | Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    this.lastActivity = Date.now();
    return new Promise((resolve) => {
      if (this.socket.write(data)) return resolve();
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** STARTTLS (RFC 3501 §6.2.1): input pipelined after the command is discarded. */
  async startTls(context: SecureContext): Promise<void> {
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.off('close', this.onClose);
    this.buf = Buffer.alloc(0);
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

  close(): void {
    if (this.closed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
