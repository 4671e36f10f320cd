// A tiny scripted client for line protocols (SMTP, POP3, IMAP): send raw bytes,
// wait for a line matching a pattern. Tests use it where a full client library
// would hide the exact bytes on the wire.
import { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export class LineClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closedFlag = false;
  readonly lines: string[] = [];

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      let i = this.buffer.indexOf('\n');
      while (i >= 0) {
        this.lines.push(this.buffer.slice(0, i + 1).replace(/\r?\n$/, ''));
        this.buffer = this.buffer.slice(i + 1);
        i = this.buffer.indexOf('\n');
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.once('error', reject);
      s.connect(port, host, () => resolve(new LineClient(s)));
    });
  }

  static connectTls(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host, rejectUnauthorized: false });
      s.once('error', reject);
      s.once('secureConnect', () => resolve(new LineClient(s)));
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Upgrades the connection to TLS (after STARTTLS/STLS was accepted). */
  async startTls(): Promise<void> {
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.buffer = '';
    this.socket = secure;
    this.attach(secure);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Waits for the next line matching `pattern`, skipping lines before it. Returns it. */
  async expect(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = this.lines.findIndex((l) => pattern.test(l));
      if (idx >= 0) {
        const line = this.lines[idx] as string;
        this.lines.splice(0, idx + 1);
        return line;
      }
      if (this.closedFlag)
        throw new Error(`connection closed while waiting for ${pattern}; got: ${this.lines.join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; got: ${this.lines.join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command and returns the reply line matching `pattern`. */
  async command(line: string, pattern: RegExp): Promise<string> {
    this.send(line);
    return this.expect(pattern);
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag) {
      if (Date.now() > deadline) throw new Error('connection not closed');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
