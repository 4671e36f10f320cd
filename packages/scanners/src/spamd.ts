// A spamd client over TCP (SPAMC/1.5, see spamc-wire.ts): PING, CHECK,
// SYMBOLS, REPORT, HEADERS, and TELL for learning.
//
// Messages larger than `maxBytes` are cut there, like amavisd's
// spam-scan size limit: SpamAssassin's value on huge mail is small and its
// cost is large. The result then says `truncated`.
// Every outcome is a value. spamd's EX_TEMPFAIL (75), a timeout, a refused
// connection or a reply we cannot parse all become `status: 'error'`; the
// caller's policy is to retry later, never to treat that as a verdict.
import type { Readable } from 'node:stream';
import { type Deadlines, defaultDeadlines, type Endpoint } from './deadlines.js';
import { type ExchangeResult, exchange, ONE_WRITE_BYTES } from './exchange.js';
import {
  buildRequest,
  EX_OK,
  EX_TEMPFAIL,
  parseDid,
  parseResponse,
  parseSpamHeader,
  parseSymbols,
  type SpamdResponse,
} from './spamc-wire.js';

/** A message with a known size in bytes (Content-length), or a whole Buffer. */
export type SpamdMessage = Buffer | { size: number; stream: Readable };

export interface SpamdOptions extends Endpoint {
  deadlines?: Partial<Deadlines>;
  /** Bytes of a message sent at most. */
  maxBytes?: number;
}

export interface SpamdError {
  status: 'error';
  /** `tempfail`: spamd said EX_TEMPFAIL; others: transport or protocol trouble. */
  reason: 'tempfail' | 'refused' | 'timeout' | 'io' | 'protocol' | 'source' | 'refused-command';
  detail: string;
  raw: string;
}

export interface SpamdVerdict {
  status: 'ok';
  isSpam: boolean;
  score: number;
  threshold: number;
  /** Rule names (SYMBOLS); empty for CHECK. */
  rules: string[];
  /** REPORT text or HEADERS header block, as spamd sent it. */
  body?: string;
  truncated?: boolean;
}

export interface SpamdLearned {
  status: 'ok';
  didSet: string[];
  didRemove: string[];
}

export interface TellOptions {
  messageClass: 'spam' | 'ham';
  /** Databases to add the message to; spamd needs --allow-tell. `local` is Bayes. */
  set?: Array<'local' | 'remote'>;
  /** Databases to forget it from (Bayes `forget` is Remove: local). */
  remove?: Array<'local' | 'remote'>;
  user?: string;
}

export type CheckCommand = 'CHECK' | 'SYMBOLS' | 'REPORT' | 'HEADERS';

export class SpamdClient {
  readonly endpoint: Endpoint;
  private readonly deadlines: Deadlines;
  private readonly maxBytes: number;

  constructor(opts: SpamdOptions) {
    this.endpoint = { host: opts.host, port: opts.port };
    this.deadlines = { ...defaultDeadlines, ...opts.deadlines };
    this.maxBytes = opts.maxBytes ?? 512 * 1024;
  }

  async ping(): Promise<boolean> {
    const r = await this.send('PING', {}, null);
    return 'code' in r && r.code === EX_OK && r.message === 'PONG';
  }

  /** Scores a message. SYMBOLS (the default) also names the rules that hit. */
  async check(
    message: SpamdMessage,
    opts: { user?: string; command?: CheckCommand } = {},
  ): Promise<SpamdVerdict | SpamdError> {
    const command = opts.command ?? 'SYMBOLS';
    const r = await this.send(command, { User: opts.user }, message);
    if ('status' in r) return r;
    const spam = parseSpamHeader(r.headers.spam);
    if (!spam) return protocolError('no parsable Spam: header', r);
    const verdict: SpamdVerdict = {
      status: 'ok',
      ...spam,
      rules: command === 'SYMBOLS' ? parseSymbols(r.body) : [],
    };
    if (command === 'REPORT' || command === 'HEADERS') verdict.body = r.body.toString('utf8');
    if (sizeOf(message) > this.maxBytes) verdict.truncated = true;
    return verdict;
  }

  /** Teaches spamd (Bayes with `set: ['local']`) that a message is spam or ham. */
  async tell(message: SpamdMessage, opts: TellOptions): Promise<SpamdLearned | SpamdError> {
    const r = await this.send(
      'TELL',
      {
        'Message-class': opts.messageClass,
        Set: opts.set?.length ? opts.set.join(', ') : undefined,
        Remove: opts.remove?.length ? opts.remove.join(', ') : undefined,
        User: opts.user,
      },
      message,
    );
    if ('status' in r) return r;
    return { status: 'ok', didSet: parseDid(r.headers.didset), didRemove: parseDid(r.headers.didremove) };
  }

  private async send(
    command: 'PING' | CheckCommand | 'TELL',
    headers: Record<string, string | undefined>,
    message: SpamdMessage | null,
  ): Promise<SpamdResponse | SpamdError> {
    const size = message === null ? 0 : Math.min(sizeOf(message), this.maxBytes);
    let head: Buffer;
    try {
      head = buildRequest(
        command,
        message === null ? headers : { ...headers, 'Content-length': String(size) },
      );
    } catch (err) {
      return { status: 'error', reason: 'protocol', detail: (err as Error).message, raw: '' };
    }
    const stream = message !== null && !Buffer.isBuffer(message) ? message.stream : null;
    stream?.on('error', () => {}); // reported through the iterator below, never as an unhandled event
    const r = await exchange({
      endpoint: this.endpoint,
      deadlines: this.deadlines,
      send: async (write) => {
        if (Buffer.isBuffer(message) && size <= ONE_WRITE_BYTES) {
          // Head and message in one write: one syscall and one segment, not two.
          await write(Buffer.concat([head, message.subarray(0, size)]));
          return;
        }
        if (!(await write(head)) || message === null) return;
        if (Buffer.isBuffer(message)) {
          await write(message.subarray(0, size));
          return;
        }
        let sent = 0;
        for await (const raw of message.stream) {
          const chunk = (Buffer.isBuffer(raw) ? raw : Buffer.from(raw)).subarray(0, size - sent);
          if (!(await write(chunk))) return;
          sent += chunk.length;
          if (sent >= size) break;
        }
        // spamd would wait for the missing bytes until its own timeout.
        if (sent < size) throw new Error(`message shorter than its size: ${sent} of ${size} bytes`);
      },
    });
    stream?.destroy();
    return toResponse(r);
  }
}

function sizeOf(message: SpamdMessage): number {
  return Buffer.isBuffer(message) ? message.length : message.size;
}

function protocolError(detail: string, r: SpamdResponse): SpamdError {
  return { status: 'error', reason: 'protocol', detail, raw: `${r.code} ${r.message}` };
}

function toResponse(r: ExchangeResult): SpamdResponse | SpamdError {
  const raw = r.reply.toString('latin1').slice(0, 200);
  if (!r.ok) {
    const reason = r.reason === 'connect-timeout' ? 'timeout' : r.reason;
    return { status: 'error', reason, detail: r.detail, raw };
  }
  const parsed = parseResponse(r.reply);
  if ('error' in parsed) return { status: 'error', reason: 'protocol', detail: parsed.error, raw };
  if (parsed.code === EX_TEMPFAIL)
    return { status: 'error', reason: 'tempfail', detail: parsed.message, raw };
  if (parsed.code !== EX_OK)
    return { status: 'error', reason: 'refused-command', detail: `${parsed.code} ${parsed.message}`, raw };
  return parsed;
}
