// The bytes a client sent, in the two shapes SMTP reads them: command lines
// (line-scan.ts) and the DATA stream (dot-decoder.ts). Transport only: it
// knows nothing of commands. Back-pressure both ways: the socket is paused when
// too much unread input piles up (a pipelining flood) or when the DATA
// consumer is slower than the client, and resumed when they catch up.

import type { Socket } from 'node:net';
import type { DotDecoder } from './dot-decoder.js';
import { type LineScan, scanLine } from './line-scan.js';

const EMPTY = Buffer.alloc(0);
/** Unread command input beyond this pauses the socket. */
const HIGH_WATER = 64 * 1024;

export type LineEvent =
  | { kind: 'line'; line: Buffer }
  | { kind: 'bare-lf' | 'bare-cr' | 'too-long' }
  | { kind: 'eof' };

export class Input {
  private buf: Buffer = EMPTY;
  private socket: Socket | null = null;
  private wake: (() => void) | null = null;
  private sink: ((chunk: Buffer) => void) | null = null;
  private onEof: (() => void) | null = null;
  /** Skipping the rest of an overlong line. */
  private discarding = false;
  private paused = false;
  ended = false;

  private readonly onData = (chunk: Buffer): void => {
    if (this.sink) {
      this.sink(chunk);
      return;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.buf.length > HIGH_WATER) this.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.onEof?.();
    this.notify();
  };

  attach(socket: Socket): void {
    this.socket = socket;
    this.paused = false;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  /** Stops reading from the socket (before a TLS upgrade wraps it). */
  detach(): void {
    const s = this.socket;
    if (!s) return;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    this.socket = null;
  }

  pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket?.pause();
    }
  }

  resume(): void {
    if (this.paused) {
      this.paused = false;
      this.socket?.resume();
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves when more input arrived or the client went away. */
  private waitInput(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.resume();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Octets received and not yet read. */
  get buffered(): number {
    return this.buf.length;
  }

  /** True when a complete line (or at least an LF) is waiting: replies can still be held back. */
  hasLine(): boolean {
    return this.buf.indexOf(10) >= 0;
  }

  /** Drops every unread octet; returns how many (RFC 3207 §4.2: input pipelined with STARTTLS). */
  discard(): number {
    const n = this.buf.length;
    this.buf = EMPTY;
    return n;
  }

  /** The unread octets, left in place (for the PROXY header). */
  peek(): Buffer {
    return this.buf;
  }

  consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  /** Waits until at least one more octet arrived (or EOF); false on EOF. */
  async more(): Promise<boolean> {
    const before = this.buf.length;
    while (this.buf.length === before && !this.ended) await this.waitInput();
    return this.buf.length > before;
  }

  async nextLine(max: number): Promise<LineEvent> {
    for (;;) {
      if (this.discarding) {
        const lf = this.buf.indexOf(10);
        if (lf < 0) this.buf = EMPTY;
        else {
          this.buf = this.buf.subarray(lf + 1);
          this.discarding = false;
        }
      }
      if (!this.discarding) {
        const r: LineScan = scanLine(this.buf, max);
        switch (r.kind) {
          case 'line':
            this.buf = this.buf.subarray(r.next);
            return { kind: 'line', line: r.line };
          case 'bare-lf':
          case 'bare-cr':
            this.buf = this.buf.subarray(r.next);
            return { kind: r.kind };
          case 'too-long':
            if (r.next < 0) {
              this.buf = EMPTY;
              this.discarding = true;
            } else this.buf = this.buf.subarray(r.next);
            return { kind: 'too-long' };
          case 'need-more':
            break;
        }
      }
      if (this.ended) return { kind: 'eof' };
      await this.waitInput();
    }
  }

  /**
   * Feeds the input through `decoder` until the end of DATA, handing message
   * bytes to `push` (which returns false to pause the client). Resolves true
   * at the end marker, false when the client went away first. Input after the
   * end marker stays for the next command (RFC 2920 pipelining).
   */
  readData(decoder: DotDecoder, push: (data: Buffer[]) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean, rest: Buffer) => {
        done = true;
        this.sink = null;
        this.onEof = null;
        this.buf = rest;
        resolve(ok);
      };
      const feed = (chunk: Buffer) => {
        const r = decoder.write(chunk);
        if (r.data.length && !push(r.data)) this.pause();
        if (r.end >= 0) finish(true, chunk.subarray(r.end));
      };
      this.onEof = () => finish(false, EMPTY);
      this.sink = feed;
      this.resume();
      const pending = this.buf;
      this.buf = EMPTY;
      if (pending.length) feed(pending);
      if (!done && this.ended) finish(false, EMPTY);
    });
  }
}
