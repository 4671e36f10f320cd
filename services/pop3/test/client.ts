// A tiny scripted POP3 client over a real socket, for protocol tests:
// send a line, read a status line, read a multi-line body as raw bytes.
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export class PopClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  static connect(port: number, opts: { tls?: boolean } = {}): Promise<PopClient> {
    return new Promise((resolve, reject) => {
      const socket = opts.tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
            resolve(new PopClient(socket)),
          )
        : netConnect({ port, host: '127.0.0.1' }, () => resolve(new PopClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Waits until `n` bytes satisfy `find` (returns an end index) or the socket closes. */
  private async until(find: (buf: Buffer) => number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = find(this.buf);
      if (end >= 0) {
        const out = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end);
        return out;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString())}`);
      if (Date.now() > deadline) throw new Error(`timeout; unread: ${JSON.stringify(this.buf.toString())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? `${data}\r\n` : data);
  }

  /** One status line, without CRLF. */
  async line(): Promise<string> {
    const raw = await this.until((b) => {
      const i = b.indexOf('\r\n');
      return i < 0 ? -1 : i + 2;
    });
    return raw.subarray(0, raw.length - 2).toString();
  }

  async cmd(line: string): Promise<string> {
    this.send(line);
    return this.line();
  }

  /** The raw multi-line body after a status line, up to and excluding the ".\r\n" terminator. */
  async body(): Promise<Buffer> {
    const raw = await this.until((b) => {
      if (b.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 3;
      const i = b.indexOf('\r\n.\r\n');
      return i < 0 ? -1 : i + 5;
    });
    return raw.subarray(0, raw.length - 3);
  }

  /** Body lines, un-stuffed. */
  async lines(): Promise<string[]> {
    const text = (await this.body()).toString();
    return text === ''
      ? []
      : text
          .replace(/\r\n$/, '')
          .split('\r\n')
          .map((l) => (l.startsWith('.') ? l.slice(1) : l));
  }

  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.listen(this.socket);
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.until(() => (this.closed ? 0 : -1), timeoutMs).catch((e: Error) => {
      if (!this.closed) throw e;
    });
  }

  /** Drops the connection without QUIT. */
  async drop(): Promise<void> {
    this.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The wire form of a message, un-stuffed: what RETR must deliver. */
export function unstuff(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1'), 'latin1');
}
