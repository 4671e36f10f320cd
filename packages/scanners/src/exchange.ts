// One request/response exchange over TCP, as both clamd (INSTREAM) and spamd
// (SPAMC) speak it: connect, stream the request, read the reply until the
// server closes (or `complete` says the reply is whole).
//
// Invariants: the returned promise always settles, exactly once, with a value;
// nothing here throws from a socket or stream handler, so a misbehaving
// scanner can never crash the process. Failures carry a reason a caller can
// map to a policy (retry, limit) without parsing text.
import { Socket } from 'node:net';
import type { Deadlines, Endpoint } from './deadlines.js';

/**
 * A request for a message held in memory up to this size is written in one
 * piece (one syscall, one segment), at the price of one copy of the message.
 */
export const ONE_WRITE_BYTES = 1024 * 1024;

export type ExchangeFailure = 'refused' | 'connect-timeout' | 'timeout' | 'io' | 'source';

export type ExchangeResult =
  | { ok: true; reply: Buffer }
  | { ok: false; reason: ExchangeFailure; detail: string; reply: Buffer };

export interface ExchangeOptions {
  endpoint: Endpoint;
  deadlines: Deadlines;
  /**
   * Writes the request. `write` resolves when the socket can take more (back
   * pressure) and returns false once the exchange is over (the server closed or a
   * deadline fired), so the writer stops reading its source.
   */
  send(write: (chunk: Buffer) => Promise<boolean>): Promise<void>;
  /** True when the reply bytes so far are a whole reply (clamd ends with NUL). */
  complete?(reply: Buffer): boolean;
}

export function exchange(opts: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const chunks: Buffer[] = [];
    let settled = false;
    let connected = false;
    const reply = () => Buffer.concat(chunks);

    const finish = (result: ExchangeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      sock.destroy();
      resolve(result);
    };
    const fail = (reason: ExchangeFailure, detail: string) => {
      const got = reply();
      // A server may answer and close before it has read all we send (clamd
      // does when the stream exceeds StreamMaxLength): a whole reply wins over
      // the EPIPE/ECONNRESET our pending write then sees.
      if (reason === 'io' && got.length > 0 && opts.complete?.(got)) finish({ ok: true, reply: got });
      else finish({ ok: false, reason, detail, reply: got });
    };

    const connectTimer = setTimeout(
      () => fail('connect-timeout', `no connection within ${opts.deadlines.connectMs} ms`),
      opts.deadlines.connectMs,
    );
    const totalTimer = setTimeout(
      () => fail('timeout', `no complete reply within ${opts.deadlines.totalMs} ms`),
      opts.deadlines.totalMs,
    );

    sock.setNoDelay(true);
    sock.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ECONNREFUSED' && !connected ? 'refused' : 'io', err.code ?? err.message),
    );
    sock.on('timeout', () => fail('timeout', `idle for ${opts.deadlines.idleMs} ms`));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.complete?.(reply())) finish({ ok: true, reply: reply() });
    });
    sock.on('end', () => finish({ ok: true, reply: reply() }));
    sock.on('close', () => {
      if (!settled) fail('io', connected ? 'connection closed' : 'connection failed');
    });

    const write = (chunk: Buffer): Promise<boolean> => {
      if (settled || sock.destroyed || !sock.writable) return Promise.resolve(false);
      if (sock.write(chunk)) return Promise.resolve(true);
      return new Promise((res) => {
        const done = () => {
          sock.off('drain', done);
          sock.off('close', done);
          res(!settled && sock.writable);
        };
        sock.on('drain', done);
        sock.on('close', done);
      });
    };

    sock.connect(opts.endpoint.port, opts.endpoint.host, () => {
      connected = true;
      clearTimeout(connectTimer);
      sock.setTimeout(opts.deadlines.idleMs);
      opts.send(write).then(
        () => {
          // Half-close: both protocols allow it, and spamd then knows the body is whole.
          if (!settled && sock.writable) sock.end();
        },
        (err: unknown) => fail('source', err instanceof Error ? err.message : String(err)),
      );
    });
  });
}
