// COMPRESS=DEFLATE (RFC 4978) against a real deflate peer: node:zlib raw
// deflate/inflate on the client side, sync-flushed per command as the RFC's
// §4 asks of both ends. (imapflow in interop.test.ts negotiates COMPRESS too,
// since the server advertises it.)
import { connect, type Socket } from 'node:net';
import { constants, createDeflateRaw, createInflateRaw, type InflateRaw } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, type TestEnv } from './env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

/** A client whose transport can switch to deflate; collects everything received as latin1. */
class Peer {
  text = '';
  private waiters: Array<() => void> = [];
  private send: (s: string) => void;
  closed = false;
  /** The server ended its deflate stream (a final block) rather than just cutting it off. */
  cleanEnd = false;

  /** Set once COMPRESS is active: received bytes go through it, and it has the last word. */
  private inflater: InflateRaw | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.got(d));
    // The inflater works off the event loop: the socket's 'close' can come before it has given
    // out the last bytes (the BYE and tagged OK of LOGOUT), so then the end is its 'end'.
    socket.on('end', () => this.inflater?.end());
    socket.on('close', () => {
      if (this.inflater && !this.inflater.writableEnded) this.inflater.end();
      if (this.inflater && !this.inflater.readableEnded) return;
      this.ended();
    });
    this.send = (s) => socket.write(s, 'latin1');
  }

  private ended(): void {
    this.closed = true;
    this.wake();
  }

  private got(d: Buffer): void {
    this.text += d.toString('latin1');
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until the received text matches; returns the match and drops everything up to its end. */
  async expect(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) {
        this.text = this.text.slice(m.index + m[0].length);
        return m;
      }
      if (this.closed || Date.now() > deadline) throw new Error(`no ${re} in: ${this.text.slice(0, 300)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  command(line: string): void {
    this.send(`${line}\r\n`);
  }

  compress(): void {
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw();
    this.socket.removeAllListeners('data');
    this.socket.on('data', (d: Buffer) => inflate.write(d));
    inflate.on('data', (d: Buffer) => this.got(d));
    // A stream the server cut short (the garbage test) errors instead of ending.
    inflate.on('end', () => {
      this.cleanEnd = true;
      this.ended();
    });
    inflate.on('error', () => this.ended());
    this.inflater = inflate;
    deflate.on('data', (d: Buffer) => this.socket.write(d));
    this.send = (s) => {
      deflate.write(Buffer.from(s, 'latin1'));
      deflate.flush(constants.Z_SYNC_FLUSH);
    };
  }
}

async function peer(): Promise<Peer> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(env.server.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const p = new Peer(socket);
  await p.expect(/^\* OK .*\r\n/);
  return p;
}

describe('COMPRESS=DEFLATE', () => {
  it('switches both directions to raw deflate after the tagged OK', async () => {
    const big = `Subject: big\r\n\r\n${'0123456789abcdef'.repeat(20_000)}\r\n`; // 320 KB: many deflate blocks
    await env.put('alice', big);
    const p = await peer();
    p.command('c0 COMPRESS DEFLATE');
    await p.expect(/c0 BAD .*\r\n/); // not before login
    p.command('l LOGIN alice@example.test secret');
    expect((await p.expect(/l OK \[CAPABILITY ([^\]]*)\]/))[1]).toContain('COMPRESS=DEFLATE');
    p.command('c1 COMPRESS DEFLATE');
    await p.expect(/c1 OK .*\r\n/);
    p.compress();
    p.command('c2 CAPABILITY');
    expect((await p.expect(/\* CAPABILITY (.*)\r\n/))[1]).not.toContain('COMPRESS=DEFLATE');
    await p.expect(/c2 OK .*\r\n/);
    p.command('c3 COMPRESS DEFLATE');
    await p.expect(/c3 NO \[COMPRESSIONACTIVE\].*\r\n/);
    p.command('c4 SELECT INBOX');
    await p.expect(/c4 OK \[READ-WRITE\].*\r\n/);
    p.command('c5 UID SEARCH SUBJECT big');
    const uid = (await p.expect(/\* SEARCH (\d+)\r\n/))[1];
    p.command(`c6 UID FETCH ${uid} BODY.PEEK[]`);
    const m = await p.expect(/BODY\[\] \{(\d+)\}\r\n/);
    expect(Number(m[1])).toBe(big.length);
    await p.expect(/c6 OK .*\r\n/);
    p.command('c7 LOGOUT');
    await p.expect(/\* BYE .*\r\n/);
    await p.expect(/c7 OK .*\r\n/);
  });

  it('every compressed LOGOUT delivers BYE and the tagged OK, then ends the deflate stream', async () => {
    // The last bytes and the close race on both ends (the server's deflater, the client's
    // inflater): many rounds make a lost OK show up here rather than once in a while.
    for (let i = 0; i < 40; i++) {
      const p = await peer();
      p.command('l LOGIN alice@example.test secret');
      await p.expect(/l OK .*\r\n/);
      p.command('c COMPRESS DEFLATE');
      await p.expect(/c OK .*\r\n/);
      p.compress();
      p.command('x LOGOUT');
      await p.expect(/\* BYE .*\r\nx OK .*\r\n/);
      await p.expect(/(?!)/, 5000).catch(() => {});
      expect(p.closed).toBe(true);
      expect(p.cleanEnd).toBe(true);
    }
  });

  it('refuses unknown mechanisms and survives a peer that sends garbage', async () => {
    const p = await peer();
    p.command('l LOGIN alice@example.test secret');
    await p.expect(/l OK .*\r\n/);
    p.command('c1 COMPRESS GZIP');
    await p.expect(/c1 BAD .*\r\n/);
    p.command('c2 COMPRESS DEFLATE');
    await p.expect(/c2 OK .*\r\n/);
    // Not deflate at all (BTYPE 11 is reserved, RFC 1951 §3.2.3): the server drops the connection.
    p.raw(Buffer.from([0x07, 0xff, 0xff, 0xff]));
    await p.expect(/(?!)/, 5000).catch(() => {});
    expect(p.closed).toBe(true);
    // Others are unaffected.
    const q = await peer();
    q.command('n NOOP');
    await q.expect(/n OK .*\r\n/);
  });
});
