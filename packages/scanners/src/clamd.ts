// A clamd client: INSTREAM over TCP, streamed from a Readable in chunks, with
// deadlines and a byte cap (clamd(8) "INSTREAM": `zINSTREAM\0`, then chunks of
// <4-byte big-endian length><data>, ended by a zero-length chunk).
//
// The cap stays below clamd's StreamMaxLength: past it clamd stops with an
// ERROR and we would learn nothing. We send the first `maxBytes`, end the
// stream, and report `limit` (with `truncated`) unless that prefix is infected,
// so a policy decides what an unscannable tail means.
// Scans go over clamd sessions kept open between messages (clamd-session.ts).
// Every outcome is a value; nothing throws.
import type { Readable } from 'node:stream';
import { type ClamdResult, parseClamdReply } from './clamd-reply.js';
import { ClamdSessionPool } from './clamd-session.js';
import { type Deadlines, defaultDeadlines, type Endpoint } from './deadlines.js';
import { type ExchangeResult, exchange, ONE_WRITE_BYTES } from './exchange.js';

export interface ClamdOptions extends Endpoint {
  deadlines?: Partial<Deadlines>;
  /** Bytes sent at most; keep it below clamd's StreamMaxLength. */
  maxBytes?: number;
  /** Chunk size on the wire. */
  chunkBytes?: number;
}

const NUL_TERMINATED = (b: Buffer) => b.includes(0);
const INSTREAM = Buffer.from('zINSTREAM\0');
/** A zero-length chunk: end of the stream. */
const END_OF_STREAM = Buffer.alloc(4);

/** The 4-byte big-endian length before each INSTREAM chunk. */
function chunkLength(n: number): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(n, 0);
  return len;
}

function frame(data: Buffer): Buffer {
  return Buffer.concat([chunkLength(data.length), data]);
}

/** A whole INSTREAM request: the command, `data` in chunks of at most `chunkBytes`, the end mark. */
export function instreamRequest(data: Buffer, chunkBytes: number): Buffer {
  const parts: Buffer[] = [INSTREAM];
  for (let i = 0; i < data.length; i += chunkBytes) {
    const part = data.subarray(i, i + chunkBytes);
    parts.push(chunkLength(part.length), part);
  }
  parts.push(END_OF_STREAM);
  return Buffer.concat(parts);
}

function failure(r: Extract<ExchangeResult, { ok: false }>): ClamdResult {
  return { status: 'error', detail: `${r.reason}: ${r.detail}`, raw: r.reply.toString('latin1') };
}

export class ClamdClient {
  readonly endpoint: Endpoint;
  private readonly deadlines: Deadlines;
  private readonly maxBytes: number;
  private readonly chunkBytes: number;
  private readonly sessions: ClamdSessionPool;

  constructor(opts: ClamdOptions) {
    this.endpoint = { host: opts.host, port: opts.port };
    this.deadlines = { ...defaultDeadlines, ...opts.deadlines };
    this.maxBytes = opts.maxBytes ?? 25 * 1024 * 1024;
    this.chunkBytes = opts.chunkBytes ?? 64 * 1024;
    this.sessions = new ClamdSessionPool(this.endpoint, this.deadlines);
  }

  /** Closes the idle clamd sessions. */
  close(): void {
    this.sessions.close();
  }

  /** zPING → PONG: true when clamd answers within the deadlines. */
  async ping(): Promise<boolean> {
    const r = await exchange({
      endpoint: this.endpoint,
      deadlines: this.deadlines,
      send: async (write) => {
        await write(Buffer.from('zPING\0'));
      },
      complete: NUL_TERMINATED,
    });
    return r.ok && r.reply.toString('latin1').replace(/\0+$/, '') === 'PONG';
  }

  /** Scans a message. `source` is consumed (and destroyed if not read to the end). */
  async scan(source: Readable | Buffer): Promise<ClamdResult> {
    let truncated = false;
    // A source that fails while we are not reading it (say, the connection was
    // refused first) must not become an unhandled 'error' event.
    if (!Buffer.isBuffer(source)) source.on('error', () => {});
    const send = async (write: (chunk: Buffer) => Promise<boolean>) => {
      let sent = 0;
      truncated = false;
      if (Buffer.isBuffer(source) && source.length <= ONE_WRITE_BYTES) {
        // A small message goes out as one write: one syscall and one segment, not three.
        const body = source.subarray(0, this.maxBytes);
        truncated = body.length < source.length;
        await write(instreamRequest(body, this.chunkBytes));
        return;
      }
      if (!(await write(INSTREAM))) return;
      const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(source) ? [source] : source;
      for await (const raw of chunks) {
        let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        if (sent + chunk.length > this.maxBytes) {
          chunk = chunk.subarray(0, this.maxBytes - sent);
          truncated = true;
        }
        for (let i = 0; i < chunk.length; i += this.chunkBytes) {
          const part = chunk.subarray(i, i + this.chunkBytes);
          if (!(await write(frame(part)))) return;
          sent += part.length;
        }
        if (truncated) break;
      }
      await write(END_OF_STREAM);
    };
    // A Buffer can be sent again: on a fresh connection when a reused session turns out closed.
    const r = await this.sessions.request(send, Buffer.isBuffer(source));
    if (!Buffer.isBuffer(source)) source.destroy();
    if (!r.ok) return failure(r);
    const result = parseClamdReply(r.reply.toString('latin1'));
    if (!truncated || result.status === 'infected' || result.status === 'error') {
      return truncated ? { ...result, truncated } : result;
    }
    return { status: 'limit', signature: 'Postamt.ScanSizeCap', truncated, raw: result.raw };
  }
}
