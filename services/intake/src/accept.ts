// Accepting a message: the one place where "250" is decided. The message is
// streamed into a spool file (Received header first), the file is committed
// (durable on disk, see Spool), the filter job is added to Redis, and only then
// is the client told 250 with the queue id. Any failure before that aborts the
// spool file and answers 451: nothing is left behind and the client retries.
// The bytes go to the file in few large writes (each write is a trip through
// the thread pool): a typical message is written once, at the end of DATA, by
// the commit itself (created, written and synced in one trip, see Spool.create).

import type { Readable } from 'node:stream';
import type { Logger } from '@postamt/observability';
import type { Envelope, Queues, Spool, SpoolWriter } from '@postamt/queue';
import { receivedHeader } from './received.js';
import { Replies, type SmtpReply, spoolFailureReply } from './replies.js';

export interface AcceptDeps {
  spool: Spool;
  queues: Queues;
  hostname: string;
  enqueueTimeoutMs: number;
  logger: Logger;
}

export interface IncomingMessage {
  envelope: Omit<Envelope, 'id' | 'receivedAt'>;
  protocol: string;
  /** Complete header fields (CRLF-separated lines, no final CRLF) written after Received. */
  headers?: string[];
  /** The DATA stream; it is always consumed to the end, whatever happens. */
  stream: Readable & { sizeExceeded?: boolean };
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Bytes gathered before a write to the spool file: a typical message fits in one write. */
const WRITE_BATCH = 256 * 1024;

/** Gathers small chunks and hands them to the spool writer in large writes. */
class BatchedWriter {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly writer: SpoolWriter) {}

  async write(chunk: Buffer): Promise<void> {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= WRITE_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    const data = this.rest();
    if (data) await this.writer.write(data);
  }

  /** The bytes gathered and not yet written (taken out), for the commit's last write. */
  rest(): Buffer | undefined {
    if (this.bytes === 0) return undefined;
    const data =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    return data;
  }
}

/** Reads the stream to its end without keeping the bytes. */
async function drain(stream: Readable): Promise<void> {
  // A stream destroyed by a failed `for await` has nothing left to give (and will not emit 'close' again).
  if (stream.destroyed) return;
  stream.resume();
  if (stream.readableEnded) return;
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
  });
}

export async function acceptMessage(deps: AcceptDeps, msg: IncomingMessage): Promise<SmtpReply> {
  const receivedAt = new Date();
  let writer: SpoolWriter | undefined;
  try {
    writer = await deps.spool.create({ ...msg.envelope, receivedAt: receivedAt.toISOString() });
  } catch (err) {
    deps.logger.error({ err }, 'cannot create spool file');
    await drain(msg.stream);
    return spoolFailureReply(err);
  }
  const id = writer.id;
  // Built only when there is something to say (a child logger per message costs).
  let child: Logger | undefined;
  const log = () => {
    child ??= deps.logger.child({ queueId: id });
    return child;
  };
  const rcpts = msg.envelope.rcptTo;
  const out = new BatchedWriter(writer);
  try {
    await out.write(
      receivedHeader({
        helo: msg.envelope.client.helo,
        ptr: msg.envelope.client.ptr,
        ip: msg.envelope.client.ip,
        by: deps.hostname,
        protocol: msg.protocol,
        id: writer.id,
        tls: msg.envelope.client.tls,
        auth: msg.envelope.authUser,
        for: rcpts.length === 1 ? rcpts[0]?.address : undefined,
        date: receivedAt,
      }),
    );
    if (msg.headers?.length) await out.write(Buffer.from(msg.headers.map((h) => `${h}\r\n`).join('')));
    for await (const chunk of msg.stream) await out.write(chunk as Buffer);
  } catch (err) {
    log().error({ err }, 'spool write failed');
    await writer.abort();
    await drain(msg.stream);
    return spoolFailureReply(err);
  }
  if (msg.stream.sizeExceeded) {
    await writer.abort();
    log().info({ size: writer.size }, 'message too big');
    return Replies.messageTooBig;
  }
  try {
    // The last bytes go with the commit: a typical message is written and synced in one step.
    await writer.commit(out.rest());
  } catch (err) {
    log().error({ err }, 'spool commit failed');
    await writer.abort();
    return spoolFailureReply(err);
  }
  try {
    await withDeadline(
      deps.queues.add('filter', writer.id, { spoolId: writer.id }),
      deps.enqueueTimeoutMs,
      'enqueue',
    );
  } catch (err) {
    // Not acknowledged, so not ours: remove the file. Should the job have reached
    // Redis after all, the filter finds no spool file and drops the job.
    log().error({ err }, 'enqueue failed');
    await deps.spool
      .remove(writer.id)
      .catch((e: unknown) => log().error({ err: e }, 'cannot remove spool file'));
    return Replies.tempQueueFailure;
  }
  if (deps.logger.isLevelEnabled('info'))
    log().info(
      {
        from: msg.envelope.mailFrom,
        to: rcpts.map((r) => r.address),
        size: writer.size,
        client: msg.envelope.client.ip,
      },
      'queued',
    );
  return Replies.queued(writer.id);
}
