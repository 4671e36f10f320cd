// A spooled message, read from disk once. One job reads it up to four times
// to scan (clamd, spamd, attachment names, DKIM), once for its header, and
// once per delivered copy; for the usual small message each read would be an
// open + read + close and a stream. Up to IN_MEMORY_BYTES it is held in
// memory instead; larger mail keeps streaming from the spool file.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Envelope } from '@postamt/queue';
import { headerLength } from './headers.js';
import { readHeader, skipBytes } from './read-head.js';

/** Bytes held per job at most (times POSTAMT_FILTER_CONCURRENCY per worker). */
export const IN_MEMORY_BYTES = 4 * 1024 * 1024;
/** The header must end within this many bytes to be parsed (else nothing is stripped). */
const MAX_HEADER_BYTES = 1024 * 1024;

export interface Spooled {
  envelope: Envelope;
  size: number;
  stream: () => Readable;
}

export interface MessageBytes extends Spooled {
  /** The whole message, when it is small enough to hold. */
  bytes: Buffer | null;
}

export async function readOnce(
  message: Spooled,
  /**
   * `path`: the spool file, read in one call (a stream costs four thread-pool
   * round trips and its own ticks); the message is its last `size` bytes
   * (Spool: size = file size − offset of the message).
   */
  opts: { path?: string; max?: number } = {},
): Promise<MessageBytes> {
  if (message.size > (opts.max ?? IN_MEMORY_BYTES)) return { ...message, bytes: null };
  let bytes: Buffer;
  if (opts.path) {
    const file = readFileSync(opts.path);
    if (file.length < message.size) throw new Error(`spool file ${opts.path} is shorter than its message`);
    bytes = file.subarray(file.length - message.size);
  } else {
    const parts: Buffer[] = [];
    for await (const chunk of message.stream()) parts.push(chunk as Buffer);
    bytes = Buffer.concat(parts);
  }
  return { ...message, bytes, stream: () => Readable.from([bytes], { objectMode: false }) };
}

/** The header section (with its empty line), or null when it does not end within 1 MiB. */
export async function headerOf(message: MessageBytes): Promise<Buffer | null> {
  if (!message.bytes) return readHeader(message.stream(), MAX_HEADER_BYTES);
  const len = headerLength(message.bytes.subarray(0, MAX_HEADER_BYTES));
  return len < 0 ? null : message.bytes.subarray(0, len);
}

/** The message from byte `offset` on (the body after a header that is rewritten). */
export function bytesFrom(message: MessageBytes, offset: number): Readable {
  if (message.bytes) return Readable.from([message.bytes.subarray(offset)], { objectMode: false });
  return offset > 0 ? skipBytes(message.stream(), offset) : message.stream();
}
