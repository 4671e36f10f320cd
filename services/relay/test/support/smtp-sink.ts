// A small SMTP server for the relay's tests: a real protocol peer on a real
// socket (RFC 5321 commands, PIPELINING, STARTTLS with a test certificate),
// whose replies each test scripts per recipient and per message, and which
// records every transaction it accepted.
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface SinkMessage {
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  data: string;
  tls: boolean;
  /** The MAIL FROM and accepted RCPT TO command lines as received (DSN parameters). */
  mailLine: string;
  rcptLines: string[];
  /** Which connection (1, 2, ...) carried the transaction. */
  conn: number;
}

export interface SinkOptions {
  host: string;
  port: number;
  /** Offer STARTTLS with this key and certificate (chain: leaf first). */
  tls?: { key: string; cert: string };
  /** Advertise DSN (RFC 3461). */
  dsn?: boolean;
  /** Reply to RCPT TO (default 250). */
  rcpt?: (address: string) => string;
  /** Reply at the end of DATA; `hang` never answers (the client waits). */
  data?: (m: SinkMessage) => string | 'hang';
}

export interface Sink {
  messages: SinkMessage[];
  /** Messages whose final reply never came. */
  hung: SinkMessage[];
  connections: number;
  /** RSET commands received. */
  rsets: number;
  close(): Promise<void>;
}

export async function startSink(o: SinkOptions): Promise<Sink> {
  const sockets = new Set<Socket>();
  const sink: Sink = { messages: [], hung: [], connections: 0, rsets: 0, close: async () => {} };
  const server: Server = createServer((raw) => {
    sink.connections++;
    const conn = sink.connections;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    session(raw, o, sink, sockets, conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  sink.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return sink;
}

function session(raw: Socket, o: SinkOptions, sink: Sink, sockets: Set<Socket>, conn: number): void {
  let sock: Socket = raw;
  let buf = '';
  let tls = false;
  let helo = '';
  let mailFrom: string | null = null;
  let rcptTo: string[] = [];
  let mailLine = '';
  let rcptLines: string[] = [];
  let inData = false;
  let data = '';
  const reply = (line: string) => sock.write(`${line}\r\n`);
  const reset = () => {
    mailFrom = null;
    rcptTo = [];
    rcptLines = [];
  };
  const onLine = (line: string): boolean => {
    if (inData) {
      if (line === '.') {
        inData = false;
        const m: SinkMessage = {
          helo,
          mailFrom: mailFrom ?? '',
          rcptTo,
          data,
          tls,
          mailLine,
          rcptLines,
          conn,
        };
        const r = o.data ? o.data(m) : '250 2.0.0 Ok: queued';
        if (r === 'hang') sink.hung.push(m);
        else {
          if (r.startsWith('2')) sink.messages.push(m);
          reply(r);
        }
        reset();
      } else data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
      return true;
    }
    const [verb = '', ...rest] = line.split(' ');
    const arg = rest.join(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO':
        helo = arg;
        reply('250-sink.test');
        reply('250-PIPELINING');
        reply('250-8BITMIME');
        if (o.dsn) reply('250-DSN');
        if (o.tls && !tls) reply('250-STARTTLS');
        reply('250 SIZE 10240000');
        return true;
      case 'HELO':
        helo = arg;
        reply('250 sink.test');
        return true;
      case 'STARTTLS': {
        if (!o.tls || tls) {
          reply('502 5.5.1 not offered');
          return true;
        }
        reply('220 2.0.0 Ready to start TLS');
        const secure = new TLSSocket(raw, { isServer: true, key: o.tls.key, cert: o.tls.cert });
        secure.on('error', () => {});
        sockets.add(secure);
        sock = secure;
        tls = true;
        helo = '';
        buf = '';
        secure.on('data', feed);
        return false;
      }
      case 'MAIL':
        mailFrom = /<(.*?)>/.exec(arg)?.[1] ?? '';
        mailLine = line;
        reply('250 2.1.0 Ok');
        return true;
      case 'RCPT': {
        const addr = /<(.*?)>/.exec(arg)?.[1] ?? '';
        const r = o.rcpt ? o.rcpt(addr) : '250 2.1.5 Ok';
        if (r.startsWith('2')) {
          rcptTo.push(addr);
          rcptLines.push(line);
        }
        reply(r);
        return true;
      }
      case 'DATA':
        if (mailFrom === null || rcptTo.length === 0) {
          reply('554 5.5.1 no valid recipients');
          return true;
        }
        inData = true;
        data = '';
        reply('354 End data with <CR><LF>.<CR><LF>');
        return true;
      case 'RSET':
        sink.rsets++;
        reset();
        reply('250 2.0.0 Ok');
        return true;
      case 'NOOP':
        reply('250 2.0.0 Ok');
        return true;
      case 'QUIT':
        reply('221 2.0.0 Bye');
        sock.end();
        return false;
      default:
        reply('502 5.5.2 command not recognized');
        return true;
    }
  };
  function feed(chunk: Buffer): void {
    buf += chunk.toString('latin1');
    for (;;) {
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      if (!onLine(line)) return;
    }
  }
  raw.on('data', (chunk: Buffer) => {
    if (!tls) feed(chunk);
  });
  reply('220 sink.test ESMTP test sink');
}
