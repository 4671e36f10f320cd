// A byte-exact scripted IMAP client for tests: sends a command (literals as
// LITERAL+ so nothing waits for "+"), collects every byte of the untagged
// responses — literals included, counted, not line-split — up to the tagged
// completion.
import { Socket } from 'node:net';

export interface Reply {
  /** Everything the server sent before the tagged line, byte for byte (latin1). */
  untagged: string;
  /** The tagged line without CRLF. */
  tagged: string;
}

export class ImapClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<ImapClient> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.once('error', reject);
      s.connect(port, '127.0.0.1', () => resolve(new ImapClient(s)));
    });
  }

  private async more(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
    this.waiter = null;
  }

  /** One response line with its literals: bytes up to and including the final CRLF. */
  async readResponse(): Promise<string> {
    let pos = 0;
    for (;;) {
      const nl = this.buf.indexOf('\r\n', pos);
      if (nl < 0) {
        await this.more();
        continue;
      }
      const m = /\{(\d+)\}$/.exec(this.buf.toString('latin1', Math.max(pos, nl - 24), nl));
      if (!m) {
        const line = this.buf.toString('latin1', 0, nl + 2);
        this.buf = this.buf.subarray(nl + 2);
        return line;
      }
      const end = nl + 2 + Number(m[1]);
      while (this.buf.length < end) await this.more();
      pos = end;
    }
  }

  /** Sends `tag command` (command as latin1 text, `{N}` literals turned into `{N+}`). */
  async command(tag: string, command: string | Buffer): Promise<Reply> {
    const bytes = Buffer.isBuffer(command)
      ? command
      : Buffer.from(command.replace(/\{(\d+)\}\r\n/g, '{$1+}\r\n'), 'latin1');
    this.socket.write(Buffer.concat([Buffer.from(`${tag} `), bytes, Buffer.from('\r\n')]));
    let untagged = '';
    for (;;) {
      const line = await this.readResponse();
      if (line.startsWith(`${tag} `)) return { untagged, tagged: line.slice(0, -2) };
      untagged += line;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
