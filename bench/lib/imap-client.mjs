// A minimal IMAP client for the bench: one command at a time, literals in
// responses skipped by count (never split as lines), untagged responses
// counted and optionally kept, and APPEND with non-synchronising literals
// (LITERAL+, RFC 7888) so no round trip waits for "+". Fast enough that the
// servers, not the client, set the pace: responses are scanned in the
// receive buffer, not copied line by line.
import { Socket } from 'node:net';

export class ImapError extends Error {}

export class ImapClient {
  #socket;
  #chunks = [];
  #buffered = 0;
  #waiter = null;
  #closed = false;
  #tag = 0;
  timeoutMs;

  constructor(socket, timeoutMs) {
    this.#socket = socket;
    this.timeoutMs = timeoutMs;
    socket.on('data', (d) => {
      this.#chunks.push(d);
      this.#buffered += d.length;
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  #wake() {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** `localAddress` (127.0.0.x) spreads many connections over several source addresses. */
  static async connect({ port, host = '127.0.0.1', timeoutMs = 600_000, localAddress }) {
    const socket = new Socket();
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port, host, ...(localAddress ? { localAddress } : {}) }, resolve);
    });
    socket.setNoDelay(true);
    const c = new ImapClient(socket, timeoutMs);
    const greeting = await c.#line();
    if (!greeting.startsWith('* OK')) throw new ImapError(`unexpected greeting: ${greeting}`);
    return c;
  }

  async #more() {
    if (this.#closed) throw new ImapError('connection closed by the server');
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new ImapError('timed out waiting for the server')), this.timeoutMs);
      this.#waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  #flat() {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #consume(n) {
    const buf = this.#flat();
    this.#chunks = n < buf.length ? [buf.subarray(n)] : [];
    this.#buffered -= n;
  }

  /** One plain line (greeting, continuation). */
  async #line() {
    for (;;) {
      const buf = this.#flat();
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        const line = buf.toString('latin1', 0, nl);
        this.#consume(nl + 2);
        return line;
      }
      await this.#more();
    }
  }

  /**
   * Sends `TAG command` and reads to the tagged reply. Returns { status,
   * tagged, count (untagged responses), bytes (received), lines (untagged, only
   * when `keep`) }. Throws on NO/BAD unless `allowFail`.
   */
  async command(text, { keep = false, allowFail = false } = {}) {
    const tag = `b${++this.#tag}`;
    this.#socket.write(`${tag} ${text}\r\n`);
    return this.#response(tag, text, keep, allowFail);
  }

  async #response(tag, text, keep, allowFail) {
    const lines = [];
    let count = 0;
    let bytes = 0;
    const prefix = Buffer.from(`${tag} `);
    for (;;) {
      // One response: a line, possibly continued after literals.
      let buf = this.#flat();
      let pos = 0;
      let end = -1;
      for (;;) {
        const nl = buf.indexOf('\r\n', pos);
        if (nl < 0) {
          await this.#more();
          buf = this.#flat();
          continue;
        }
        const m =
          buf[nl - 1] === 0x7d
            ? /\{(\d+)\+?\}$/.exec(buf.toString('latin1', Math.max(pos, nl - 24), nl))
            : null;
        if (!m) {
          end = nl + 2;
          break;
        }
        const after = nl + 2 + Number(m[1]);
        while (this.#buffered < after) await this.#more();
        buf = this.#flat();
        pos = after;
      }
      const isTagged = buf.subarray(0, prefix.length).equals(prefix);
      const line = isTagged || keep ? buf.toString('latin1', 0, end - 2) : '';
      bytes += end;
      this.#consume(end);
      if (isTagged) {
        const status = line.slice(prefix.length).split(' ', 1)[0];
        if (status !== 'OK' && !allowFail) throw new ImapError(`${text.slice(0, 60)} → ${line}`);
        return { status, tagged: line, count, bytes, lines };
      }
      if (line.startsWith('* BYE')) throw new ImapError(`server said ${line}`);
      count++;
      if (keep) lines.push(line);
    }
  }

  login(user, password) {
    const q = (s) => `"${s.replace(/["\\]/g, '\\$&')}"`;
    return this.command(`LOGIN ${q(user)} ${q(password)}`);
  }

  /** APPEND with a non-synchronising literal; returns the tagged reply. */
  async append(mailbox, message, { flags = [] } = {}) {
    const tag = `b${++this.#tag}`;
    const f = flags.length ? ` (${flags.join(' ')})` : '';
    this.#socket.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND ${mailbox}${f} {${message.length}+}\r\n`),
        message,
        Buffer.from('\r\n'),
      ]),
    );
    return this.#response(tag, 'APPEND', false, false);
  }

  /** CAPABILITY: the advertised capabilities, upper-cased. */
  async capabilities() {
    const r = await this.command('CAPABILITY', { keep: true });
    const line = r.lines.find((l) => l.startsWith('* CAPABILITY ')) ?? '';
    return new Set(line.slice(13).toUpperCase().split(' ').filter(Boolean));
  }

  /** Sends IDLE (RFC 2177) and waits for the continuation; untagged news then arrives by waitFor(). */
  async idle() {
    const tag = `b${++this.#tag}`;
    this.#socket.write(`${tag} IDLE\r\n`);
    for (;;) {
      const line = await this.#line();
      if (line.startsWith('+')) return;
      if (line.startsWith(`${tag} `)) throw new ImapError(`IDLE → ${line}`);
    }
  }

  /** Reads plain lines (untagged news during IDLE) until one matches `re`; returns it. */
  async waitFor(re) {
    for (;;) {
      const line = await this.#line();
      if (re.test(line)) return line;
    }
  }

  async logout() {
    try {
      await this.command('LOGOUT', { allowFail: true });
    } catch {
      // BYE first is normal; the socket closes either way.
    }
    this.#socket.destroy();
  }

  close() {
    this.#socket.destroy();
  }
}
