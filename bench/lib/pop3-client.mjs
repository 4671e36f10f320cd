// A minimal POP3 client (RFC 1939, RFC 2449 PIPELINING) for the bench and the
// pop3 interop tests: the same code talks to Postamt and to Dovecot.
//
// It streams: a multi-line reply is parsed as it arrives, line starts are
// found with Buffer.indexOf (no per-byte loop in JS), and a message body is
// only kept when the caller asks for it. RETR is pipelined with a bounded
// number of commands in flight, so neither side ever waits a round trip per
// message. Counted octets are the un-stuffed body (RFC 1939 §3), i.e. what
// LIST/STAT promise.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const CRLF = Buffer.from('\r\n');
const DOT = 0x2e;
const LF = 0x0a;

export class Pop3Error extends Error {
  constructor(command, status) {
    super(`${command.split(' ')[0]} failed: ${status}`);
    this.status = status;
  }
}

export class Pop3Client {
  /** @param {import('node:net').Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    // In-flight requests, oldest first: { command, multi, keep, onDone, onError, ...parse state }.
    this.pending = [];
    this.closed = false;
    this.error = null;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects and reads the greeting. `tls`: implicit TLS (certificate not checked). */
  static async connect({ host = '127.0.0.1', port, tls = false, timeoutMs = 30_000 }) {
    const socket = await new Promise((resolve, reject) => {
      const s = tls
        ? tlsConnect({ host, port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host, port }, () => resolve(s));
      s.once('error', reject);
      s.setTimeout(timeoutMs, () => s.destroy(new Error('POP3 connection timed out')));
    });
    socket.setNoDelay(true);
    const client = new Pop3Client(socket);
    client.greeting = await client.request(null, false);
    return client;
  }

  fail(err) {
    if (this.closed) return;
    this.closed = true;
    this.error = err;
    for (const r of this.pending.splice(0)) r.onError(err);
  }

  /**
   * Queues one command (null: the greeting) and resolves with its status line
   * (multi === false) or { status, octets, body? } (multi). Rejects on -ERR.
   */
  request(command, multi, keep = false) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.error);
      this.pending.push({
        command,
        multi,
        keep,
        status: null,
        lineStart: true,
        octets: 0,
        parts: keep ? [] : null,
        onDone: resolve,
        onError: reject,
      });
      if (command !== null) this.socket.write(`${command}\r\n`);
    });
  }

  onData(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    while (this.pending.length > 0) {
      const r = this.pending[0];
      const used = r.status === null ? this.readStatus(r, pos) : this.readBody(r, pos);
      if (used < 0) break; // need more bytes
      pos = used;
      if (r.done) this.pending.shift();
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  readStatus(r, pos) {
    const end = this.buf.indexOf(CRLF, pos);
    if (end < 0) return -1;
    r.status = this.buf.toString('latin1', pos, end);
    if (!r.status.startsWith('+OK')) {
      r.done = true;
      r.onError(new Pop3Error(r.command ?? 'greeting', r.status));
    } else if (!r.multi) {
      r.done = true;
      r.onDone(r.status);
    }
    return end + 2;
  }

  /** Consumes body lines from `pos`; returns the new position, or -1 if nothing could be used. */
  readBody(r, pos) {
    const buf = this.buf;
    const start = pos;
    while (pos < buf.length) {
      if (r.lineStart) {
        if (buf[pos] === DOT) {
          if (buf.length - pos < 3) break; // ".", ".\r": terminator or stuffing, not known yet
          if (buf[pos + 1] === 0x0d && buf[pos + 2] === LF) {
            r.done = true;
            const body = r.parts ? Buffer.concat(r.parts) : undefined;
            r.onDone({ status: r.status, octets: r.octets, body });
            return pos + 3;
          }
          pos++; // the stuffing dot
        }
      }
      const nl = buf.indexOf(LF, pos);
      const end = nl < 0 ? buf.length : nl + 1;
      r.octets += end - pos;
      r.parts?.push(buf.subarray(pos, end));
      r.lineStart = nl >= 0;
      pos = end;
    }
    return pos === start ? -1 : pos;
  }

  async command(line) {
    return this.request(line, false);
  }

  /** A multi-line command; `lines` un-stuffed, without CRLF. */
  async lines(line) {
    const { body } = await this.request(line, true, true);
    const text = body.toString('latin1');
    return text === '' ? [] : text.replace(/\r\n$/, '').split('\r\n');
  }

  async login(user, password) {
    await this.command(`USER ${user}`);
    return this.command(`PASS ${password}`);
  }

  /** { count, size } */
  async stat() {
    const m = /^\+OK (\d+) (\d+)/.exec(await this.command('STAT'));
    if (!m) throw new Error('unparsable STAT reply');
    return { count: Number(m[1]), size: Number(m[2]) };
  }

  /** [{ number, uid }] */
  async uidl() {
    return (await this.lines('UIDL')).map((l) => {
      const [n, uid] = l.split(' ');
      return { number: Number(n), uid };
    });
  }

  /** [{ number, size }] */
  async list() {
    return (await this.lines('LIST')).map((l) => {
      const [n, size] = l.split(' ');
      return { number: Number(n), size: Number(size) };
    });
  }

  /** One message, un-stuffed, as a Buffer. */
  async retr(n) {
    return (await this.request(`RETR ${n}`, true, true)).body;
  }

  /**
   * RETR of every number in `numbers`, pipelined with at most `window`
   * commands in flight. `onMessage(n, body)` gets the un-stuffed body when
   * `keep` is true. Resolves with { messages, octets }.
   */
  async retrAll(numbers, { window = 32, keep = false, onMessage } = {}) {
    let octets = 0;
    let next = 0;
    let inFlight = 0;
    return new Promise((resolve, reject) => {
      let failed = false;
      const pump = () => {
        const batch = [];
        while (next < numbers.length && inFlight < window) {
          const n = numbers[next++];
          inFlight++;
          batch.push(n);
        }
        if (batch.length === 0) return;
        // One write for the batch; the requests are queued in the same order.
        const cork = batch.length > 1;
        if (cork) this.socket.cork();
        for (const n of batch) {
          this.request(`RETR ${n}`, true, keep).then(
            (r) => {
              octets += r.octets;
              inFlight--;
              if (keep) onMessage?.(n, r.body);
              if (next >= numbers.length && inFlight === 0) resolve({ messages: numbers.length, octets });
              else pump();
            },
            (err) => {
              if (!failed) reject(err);
              failed = true;
            },
          );
        }
        if (cork) this.socket.uncork();
      };
      if (numbers.length === 0) resolve({ messages: 0, octets: 0 });
      else pump();
    });
  }

  async dele(n) {
    return this.command(`DELE ${n}`);
  }

  /** QUIT and wait for the server to close. */
  async quit() {
    const status = await this.command('QUIT');
    await new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', resolve);
      this.socket.end();
    });
    return status;
  }

  /** Drops the connection without QUIT (the server commits nothing). */
  destroy() {
    this.socket.destroy();
  }
}
