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
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

export type LineResult = Buffer | 'overflow' | null;

/** A settled promise: most writes need no waiting, and a fan-out makes thousands of them. */
const DONE: Promise<void> = Promise.resolve();

/** Pending output is written at once beyond this many bytes. */
const FLUSH_BYTES = 64 * 1024;

/** Resolves at `stream`'s next 'drain', or when the socket closes (then nothing will drain). */
function drained(stream: NodeJS.EventEmitter, socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    socket.once('close', done);
  });
}

/**
 * Transports with output waiting for the event loop to come round: one
 * setImmediate for all of them, not one each — a new-mail fan-out writes to
 * thousands of sessions in one tick.
 */
let flushQueue: Transport[] = [];

function flushQueued(): void {
  const queue = flushQueue;
  flushQueue = [];
  for (const t of queue) t.flushScheduledNow();
}

export class Transport {
  readonly remoteAddress: string;
  secure: boolean;
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  /** close() was called: the socket is ending, nothing more is written. */
  private ending = false;
  private wake: (() => void) | null = null;
  private readonly closeListeners: Array<() => void> = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  /** COMPRESS=DEFLATE (RFC 4978): both directions through raw deflate once started. */
  private deflate: DeflateRaw | null = null;
  private inflate: InflateRaw | null = null;
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
    if (this.buf.length > this.maxBuffered) {
      // Also the inflater: a small compressed input may expand a thousandfold.
      this.socket.pause();
      this.inflate?.pause();
    }
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
    this.inflate?.resume();
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

  /**
   * Writes are gathered until the event loop comes round (or FLUSH_BYTES
   * pile up), so the thousands of small responses of one FETCH 1:* leave as a
   * few large writes instead of a syscall — or a writev slot — each. The
   * promise is the back-pressure: it waits when the socket (or the deflater)
   * is full.
   */
  write(data: string | Buffer): Promise<void> {
    if (this.closed || this.ending || this.socket.destroyed) return DONE;
    this.lastActivity = Date.now();
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FLUSH_BYTES) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (flushQueue.length === 0) setImmediate(flushQueued);
      flushQueue.push(this);
    }
    return DONE;
  }

  /** The event loop came round (flushQueued). */
  flushScheduledNow(): void {
    this.flushScheduled = false;
    void this.flush();
  }

  /** Sends what is pending now; COMPRESS output is sync-flushed so every reply is complete on the wire. */
  private flush(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    const data =
      this.pending.length === 1
        ? (this.pending[0] as Buffer)
        : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const socket = this.socket;
    if (this.closed || socket.destroyed) return Promise.resolve();
    if (this.deflate) {
      const deflate = this.deflate;
      const room = deflate.write(data);
      deflate.flush(constants.Z_SYNC_FLUSH);
      if (!room) return drained(deflate, socket);
    } else if (!socket.write(data)) return drained(socket, socket);
    return socket.writableNeedDrain ? drained(socket, socket) : Promise.resolve();
  }

  get compressed(): boolean {
    return this.deflate !== null;
  }

  /**
   * COMPRESS DEFLATE (RFC 4978 §4): the tagged OK has been written in the
   * clear; everything after it, both ways, is raw deflate. Input that came
   * in the clear after the command cannot be trusted (the client had to wait
   * for the OK), so it is dropped, as after STARTTLS.
   */
  startCompression(): void {
    const socket = this.socket;
    // The tagged OK leaves in the clear, before the switch.
    void this.flush();
    socket.off('data', this.onData);
    this.buf = Buffer.alloc(0);
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw();
    socket.on('data', (chunk: Buffer) => {
      this.lastActivity = Date.now();
      inflate.write(chunk);
    });
    inflate.on('data', this.onData);
    inflate.on('error', () => socket.destroy());
    deflate.on('data', (chunk: Buffer) => socket.write(chunk));
    deflate.on('error', () => socket.destroy());
    socket.once('close', () => {
      inflate.destroy();
      deflate.destroy();
    });
    this.inflate = inflate;
    this.deflate = deflate;
  }

  /** STARTTLS (RFC 3501 §6.2.1): input pipelined after the command is discarded. */
  async startTls(context: SecureContext): Promise<void> {
    const plain = this.socket;
    // The tagged OK must be on the wire, in clear, before the handshake takes over the socket.
    void this.flush();
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
    if (this.closed || this.ending) return;
    void this.flush();
    this.ending = true;
    if (this.deflate) {
      // The socket ends only after the deflater's last output has been handed to it ('end' comes
      // after the final 'data'), so the BYE and the tagged OK are never cut off; ending the
      // deflate stream also closes it properly for the peer's inflater (Z_FINISH).
      const socket = this.socket;
      this.deflate.once('end', () => socket.end());
      this.deflate.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
