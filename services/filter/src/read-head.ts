// Reading the header section of a spooled message, and streaming the rest.
import { type Readable, Transform } from 'node:stream';
import { headerLength } from './headers.js';

/**
 * Reads up to `max` bytes and returns the header section (with its empty
 * line), or null when there is none within `max` (then nothing is stripped).
 */
export async function readHeader(stream: Readable, max = 1024 * 1024): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      const head = Buffer.concat(parts);
      const len = headerLength(head);
      if (len >= 0) return head.subarray(0, len);
      if (size >= max) return null;
    }
    return null;
  } finally {
    stream.destroy();
  }
}

/** Drops the first `n` bytes of a stream. */
export function skipBytes(source: Readable, n: number): Readable {
  let left = n;
  const skip = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (left >= chunk.length) {
        left -= chunk.length;
        done();
        return;
      }
      const rest = chunk.subarray(left);
      left = 0;
      done(null, rest);
    },
  });
  source.on('error', (err) => skip.destroy(err));
  return source.pipe(skip);
}
