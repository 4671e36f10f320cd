// A Maildir message as POP3 sends it (RFC 1939 §3, §7 RETR/TOP): every line
// ends in CRLF (bare LF is converted), a line starting with "." gets another
// "." in front (byte-stuffing), and the body is closed with ".\r\n" by the
// caller. A message up to the sync-read limit (64 KiB by default) is read
// whole and encoded at once; a larger one is streamed in 64 KiB chunks, never
// loaded whole.
//
// The octet count LIST and STAT report is the size of that wire form without
// the stuffing dots (RFC 1939 §11: counted after end-of-line conversion), and
// includes the CRLF we add when the file's last line has no line end, so a
// client that un-stuffs what RETR sent gets exactly that many octets.
import { type FileHandle, open } from 'node:fs/promises';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
/** Read size: a typical message is read with one read(2); bigger ones in 64 KiB steps. */
const CHUNK = 64 * 1024;
const TERMINATOR = Buffer.from('.\r\n');

/** Converts a message to its wire form chunk by chunk; optionally stops after the TOP line limit. */
export class WireEncoder {
  private atLineStart = true;
  private prevCR = false;
  private inBody = false;
  private lineHasContent = false;
  private bodyCount = 0;
  /** True once TOP's body line limit is reached; further input is ignored. */
  done = false;

  /** `bodyLines`: for TOP, send the headers, the blank line and this many body lines. */
  constructor(private readonly bodyLines?: number) {}

  /**
   * Line by line with Buffer.indexOf and block copies rather than a loop over
   * every byte: a message is a few dozen lines, not thousands of bytes of JS.
   */
  push(chunk: Buffer, reserve = 0): Buffer {
    // Worst case every byte doubles ("\n" → "\r\n", "." at line start → "..").
    // `reserve`: spare bytes after the output, for encodeMessage's tail.
    const out = Buffer.allocUnsafe(chunk.length * 2 + reserve);
    const top = this.bodyLines !== undefined;
    let o = 0;
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.atLineStart && chunk[i] === DOT) out[o++] = DOT;
      const nl = chunk.indexOf(LF, i);
      const end = nl < 0 ? chunk.length : nl;
      if (end > i) {
        o += chunk.copy(out, o, i, end);
        this.atLineStart = false;
        this.prevCR = chunk[end - 1] === CR;
        if (top && !this.lineHasContent) {
          for (let k = i; k < end; k++) {
            if (chunk[k] !== CR) {
              this.lineHasContent = true;
              break;
            }
          }
        }
      }
      if (nl < 0) break;
      if (!this.prevCR) out[o++] = CR;
      out[o++] = LF;
      this.prevCR = false;
      this.endLine();
      i = nl + 1;
    }
    return out.subarray(0, o);
  }

  private endLine(): void {
    if (this.bodyLines !== undefined) {
      if (!this.inBody) {
        // RFC 5322 §2.1: the first empty line separates header and body.
        if (!this.lineHasContent) {
          this.inBody = true;
          if (this.bodyLines === 0) this.done = true;
        }
      } else if (++this.bodyCount >= this.bodyLines) {
        this.done = true;
      }
    }
    this.atLineStart = true;
    this.lineHasContent = false;
  }

  /** Closes an unterminated last line, so the ".\r\n" terminator starts a line. */
  end(): Buffer {
    if (this.atLineStart) return Buffer.alloc(0);
    this.atLineStart = true;
    return Buffer.from(this.prevCR ? '\n' : '\r\n');
  }
}

/** Bare LFs in `chunk`; `prev` is the byte before it (LF at the start of a file). */
function bareLfs(chunk: Buffer, prev: number): number {
  let n = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    if ((i > 0 ? chunk[i - 1] : prev) !== CR) n++;
  }
  return n;
}

/** What a missing final line end adds: "\n" after a final CR, "\r\n" after anything else. */
function closing(last: number): number {
  return last === LF ? 0 : last === CR ? 1 : 2;
}

/** Raw and wire size of a file: raw + bare LFs + a closing line end if missing. */
export async function measure(path: string): Promise<{ raw: number; wire: number }> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let raw = 0;
    let wire = 0;
    let prev = LF;
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, CHUNK, raw);
      if (bytesRead === 0) break;
      raw += bytesRead;
      wire += bytesRead + bareLfs(buf.subarray(0, bytesRead), prev);
      prev = buf[bytesRead - 1] as number;
      // A short read of a regular file is its end; spares the read(2) that returns 0.
      if (bytesRead < CHUNK) break;
    }
    return { raw, wire: wire + closing(prev) };
  } finally {
    await file.close();
  }
}

/** Raw and wire size of a message held in memory. */
export function measureBuffer(content: Buffer): { raw: number; wire: number } {
  if (content.length === 0) return { raw: 0, wire: 0 };
  const last = content[content.length - 1] as number;
  return { raw: content.length, wire: content.length + bareLfs(content, LF) + closing(last) };
}

/** A whole message in its wire form with the terminator, ready for one write. */
export function encodeMessage(content: Buffer, bodyLines?: number): Buffer {
  const encoder = new WireEncoder(bodyLines);
  // The line end and terminator go into the space reserved behind the body: no second copy.
  const body = encoder.push(content, 5);
  const tail = encoder.end();
  const out = Buffer.from(body.buffer, body.byteOffset, body.length + tail.length + TERMINATOR.length);
  tail.copy(out, body.length);
  TERMINATOR.copy(out, body.length + tail.length);
  return out;
}

/** Octets of the wire form without stuffing (see measure). */
export async function wireSize(path: string): Promise<number> {
  return (await measure(path)).wire;
}

/**
 * Streams an open message file to `write`, honouring back-pressure, then the
 * terminator (in the same write as the last chunk). `rawSize`, when known,
 * sizes the read buffer so a small message takes one read(2).
 */
export async function sendMessage(
  file: FileHandle,
  write: (data: Buffer | string) => Promise<void>,
  bodyLines?: number,
  rawSize?: number,
): Promise<void> {
  const encoder = new WireEncoder(bodyLines);
  const size = rawSize === undefined ? CHUNK : Math.min(Math.max(rawSize + 1, 1), CHUNK);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  let pending: Buffer | null = null;
  for (;;) {
    const { bytesRead } = await file.read(buf, 0, size, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    // Sent one chunk late, so the last one can carry the terminator.
    if (pending && pending.length > 0) await write(pending);
    pending = encoder.push(buf.subarray(0, bytesRead));
    // The buffer is one byte larger than the expected size: a short read is the end.
    if (encoder.done || bytesRead < size) break;
  }
  await write(Buffer.concat(pending ? [pending, encoder.end(), TERMINATOR] : [encoder.end(), TERMINATOR]));
}
