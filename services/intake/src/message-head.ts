// Reads the header block of a DATA stream while it arrives, without losing a
// byte: the caller gets the head to judge and a stream that yields the head
// again followed by the rest, to spool as usual. Reading stops at the empty
// line that ends the header (RFC 5322 §2.1) or at `limit` octets.
import { Readable } from 'node:stream';

export type SizedStream = Readable & { sizeExceeded?: boolean };

function endOfHeaders(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

export async function splitHead(
  stream: SizedStream,
  limit = 256 * 1024,
): Promise<{ head: Buffer; message: SizedStream; abandon(): void }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    chunks.push(next.value);
    total += next.value.length;
    const end = endOfHeaders(Buffer.concat(chunks));
    if (end >= 0 || total >= limit) break;
  }
  const read = Buffer.concat(chunks);
  const end = endOfHeaders(read);
  const message: SizedStream = Readable.from(
    (async function* () {
      if (read.length) yield read;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  );
  Object.defineProperty(message, 'sizeExceeded', { get: () => stream.sizeExceeded });
  return {
    head: end >= 0 ? read.subarray(0, end) : read,
    message,
    // The SMTP layer reads DATA to its end marker whatever happens to the stream.
    abandon: () => void it.return?.(),
  };
}
