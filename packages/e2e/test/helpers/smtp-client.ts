// A raw SMTP client for the reliability tests. Unlike a full client library it
// knows exactly how far a transaction got, which is what the zero-loss check
// needs: a reply to the final dot is a verdict (250 = ours to deliver, 4xx/5xx =
// must be nowhere), while a connection lost after the dot was sent leaves the
// outcome unknown (RFC 5321 §6.1 / RFC 1047: the classic duplicate window).
import { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export type SendOutcome =
  | { kind: 'accepted'; id: string; reply: string }
  | { kind: 'rejected'; stage: string; reply: string }
  /** The connection failed before the end of DATA was sent: nothing can have been queued. */
  | { kind: 'failed'; stage: string; error: string }
  /** The end of DATA was sent but no reply came back. */
  | { kind: 'unknown'; error: string };

export interface SendOptions {
  port: number;
  host?: string;
  helo?: string;
  from: string;
  to: string[];
  /** The message, CRLF line ends, without the final dot. */
  body: Buffer;
  timeoutMs?: number;
  /** Submission: STARTTLS, then AUTH PLAIN with these credentials. */
  auth?: { user: string; pass: string };
}

/** Reads SMTP replies (multi-line aware) from a socket. */
class ReplyReader {
  private buf = '';
  private closed: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.closed ??= e;
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed ??= new Error('connection closed');
      this.wake?.();
    });
  }

  async read(deadline: number): Promise<string> {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('reply timeout');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
  }
}

function dotStuff(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'latin1');
}

export async function sendMail(o: SendOptions): Promise<SendOutcome> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let socket = new Socket();
  let reader = new ReplyReader(socket);
  let stage = 'connect';
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(o.port, o.host ?? '127.0.0.1', () => resolve());
    });
    const ehlo = `EHLO ${o.helo ?? 'client.example.org'}`;
    const run = async (steps: Array<[string, string | null, RegExp]>): Promise<SendOutcome | null> => {
      for (const [name, line, ok] of steps) {
        stage = name;
        if (line !== null) socket.write(`${line}\r\n`);
        const reply = await reader.read(deadline);
        if (!ok.test(reply)) return { kind: 'rejected', stage, reply };
      }
      return null;
    };
    let refused = await run([
      ['greeting', null, /^220/],
      ['EHLO', ehlo, /^250/],
    ]);
    if (refused) return refused;
    if (o.auth) {
      refused = await run([['STARTTLS', 'STARTTLS', /^220/]]);
      if (refused) return refused;
      stage = 'TLS';
      const plain = socket;
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
      });
      reader = new ReplyReader(socket);
      const token = Buffer.from(`\0${o.auth.user}\0${o.auth.pass}`).toString('base64');
      refused = await run([
        ['EHLO', ehlo, /^250/],
        ['AUTH', `AUTH PLAIN ${token}`, /^235/],
      ]);
      if (refused) return refused;
    }
    refused = await run([
      ['MAIL', `MAIL FROM:<${o.from}>`, /^250/],
      ...o.to.map((t): [string, string, RegExp] => ['RCPT', `RCPT TO:<${t}>`, /^25[01]/]),
      ['DATA', 'DATA', /^354/],
    ]);
    if (refused) return refused;
    stage = 'body';
    socket.write(dotStuff(o.body));
    socket.write('.\r\n');
    stage = 'end-of-data';
    let reply: string;
    try {
      reply = await reader.read(deadline);
    } catch (err) {
      return { kind: 'unknown', error: (err as Error).message };
    }
    socket.write('QUIT\r\n');
    const id = /queued as ([0-9A-Z]{26})/.exec(reply)?.[1];
    if (reply.startsWith('250') && id) return { kind: 'accepted', id, reply };
    return { kind: 'rejected', stage, reply };
  } catch (err) {
    return { kind: 'failed', stage, error: (err as Error).message };
  } finally {
    const s = socket;
    setTimeout(() => s.destroy(), 200).unref();
  }
}
