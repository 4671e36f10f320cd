// Spooling DSNs back to the envelope sender: the DSN is a new spool file
// (source internal, null reverse-path so it can never cause another DSN) and a
// `filter` job, which delivers it to a local sender's INBOX or hands it to the
// relay again. Never sent to `<>` (RFC 5321 §4.5.5). Idempotent: the DSN's spool
// id is chosen once in Redis, so a re-run after a crash finds the same file and
// the same job id.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Envelope, newSpoolId, type Queues, type Spool } from '@postamt/queue';
import { buildDsn, type DsnRecipient } from './dsn.js';
import type { RelayState } from './state.js';

/** Largest message returned whole with RET=FULL; beyond it only the headers (Postfix bounce_size_limit, generous). */
const FULL_LIMIT = 10 * 1024 * 1024;
const HEADER_LIMIT = 256 * 1024;

export interface ReportDeps {
  spool: Spool;
  queues: Queues;
  state: RelayState;
  hostname: string;
}

export interface SpooledMessage {
  id: string;
  envelope: Envelope;
  size: number;
  stream: () => Readable;
}

/** The header block of the message (up to the first empty line). */
async function readHeaders(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    chunks.push(b);
    total += b.length;
    const all = Buffer.concat(chunks);
    const end = endOfHeaders(all);
    if (end >= 0 || total >= HEADER_LIMIT) {
      stream.destroy();
      return all.subarray(0, end >= 0 ? end : HEADER_LIMIT);
    }
  }
  return Buffer.concat(chunks);
}

function endOfHeaders(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Spools one DSN about `recipients`; null when the sender is `<>`. Returns the DSN's spool id. */
export async function spoolDsn(
  deps: ReportDeps,
  msg: SpooledMessage,
  recipients: DsnRecipient[],
  now: Date,
): Promise<string | null> {
  const sender = msg.envelope.mailFrom;
  if (sender === '' || recipients.length === 0) return null;
  const kind = createHash('sha256')
    .update(
      recipients
        .map((r) => `${r.action}:${r.address}`)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 24);
  const dsnId = await deps.state.dsnId(msg.id, kind, newSpoolId());
  if (!(await deps.spool.exists(dsnId))) {
    const full = msg.envelope.params.ret === 'FULL' && msg.size <= FULL_LIMIT;
    const returned = full
      ? { kind: 'full' as const, bytes: await readAll(msg.stream()) }
      : { kind: 'headers' as const, bytes: await readHeaders(msg.stream()) };
    const { bytes } = buildDsn({
      hostname: deps.hostname,
      queueId: msg.id,
      sender,
      ...(msg.envelope.params.envid ? { envid: msg.envelope.params.envid } : {}),
      arrival: new Date(msg.envelope.receivedAt),
      recipients,
      returned,
      now,
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
      dsnId,
    );
    try {
      await w.write(bytes);
      await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }
  await deps.queues.add('filter', dsnId, { spoolId: dsnId });
  return dsnId;
}
