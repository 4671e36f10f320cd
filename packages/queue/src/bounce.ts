// Spooling a DSN back to the envelope sender: the DSN is a new spool file
// (source internal, null reverse-path so it can never cause another DSN,
// RFC 5321 §4.5.5) and a `filter` job, which delivers it to a local sender's
// INBOX or hands it to the relay. The caller chooses the DSN's spool id once
// (e.g. remembered in Redis) so a re-run after a crash finds the same file and
// the same job id instead of bouncing twice.
import type { Readable } from 'node:stream';
import { buildDsn, type DsnInput } from './dsn.js';
import type { Envelope } from './envelope.js';
import type { Queues } from './queues.js';
import type { Spool } from './spool.js';

/** Largest message returned whole with RET=FULL; beyond it only the headers (Postfix bounce_size_limit, generous). */
const FULL_LIMIT = 10 * 1024 * 1024;
const HEADER_LIMIT = 256 * 1024;

export interface BounceDeps {
  spool: Spool;
  queues: Queues;
  hostname: string;
}

export interface BouncedMessage {
  id: string;
  envelope: Envelope;
  size: number;
  stream: () => Readable;
}

export interface BounceOptions {
  /** The DSN's spool id, chosen once by the caller. */
  dsnId: string;
  /** Never return the whole message, whatever RET says (e.g. it carries a virus). */
  headersOnly?: boolean;
  explanation?: string;
  subject?: string;
}

function endOfHeaders(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

/** The header block of the message (up to the first empty line). */
export async function readHeaderBlock(stream: Readable, limit = HEADER_LIMIT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    chunks.push(b);
    total += b.length;
    const all = Buffer.concat(chunks);
    const end = endOfHeaders(all);
    if (end >= 0 || total >= limit) {
      stream.destroy();
      return all.subarray(0, end >= 0 ? end : limit);
    }
  }
  return Buffer.concat(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Spools one DSN about `recipients`; null when the sender is `<>` or there is nothing to report. */
export async function spoolDsn(
  deps: BounceDeps,
  msg: BouncedMessage,
  recipients: DsnInput['recipients'],
  now: Date,
  o: BounceOptions,
): Promise<string | null> {
  const sender = msg.envelope.mailFrom;
  if (sender === '' || recipients.length === 0) return null;
  if (!(await deps.spool.exists(o.dsnId))) {
    const full = !o.headersOnly && msg.envelope.params.ret === 'FULL' && msg.size <= FULL_LIMIT;
    const returned = full
      ? { kind: 'full' as const, bytes: await readAll(msg.stream()) }
      : { kind: 'headers' as const, bytes: await readHeaderBlock(msg.stream()) };
    const { bytes } = buildDsn({
      hostname: deps.hostname,
      queueId: msg.id,
      sender,
      ...(msg.envelope.params.envid ? { envid: msg.envelope.params.envid } : {}),
      arrival: new Date(msg.envelope.receivedAt),
      recipients,
      returned,
      now,
      ...(o.explanation ? { explanation: o.explanation } : {}),
      ...(o.subject ? { subject: o.subject } : {}),
    });
    const w = await deps.spool.create(
      {
        receivedAt: now.toISOString(),
        mailFrom: '',
        rcptTo: [{ address: sender }],
        source: 'internal',
        client: { ip: '127.0.0.1', helo: deps.hostname },
        params: {},
      },
      o.dsnId,
    );
    try {
      await w.write(bytes);
      await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }
  await deps.queues.add('filter', o.dsnId, { spoolId: o.dsnId });
  return o.dsnId;
}
