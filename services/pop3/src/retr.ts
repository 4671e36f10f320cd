// A Maildir message as POP3 sends it (RFC 1939 §3, §7 RETR/TOP): every line
// ends in CRLF (bare LF is converted), a line starting with "." gets another
// "." in front (byte-stuffing), and the body is closed with ".\r\n" by the
// caller. The file is streamed in chunks, never loaded whole.
//
// The octet count LIST and STAT report is the size of that wire form without
// the stuffing dots (RFC 1939 §11: counted after end-of-line conversion), and
// includes the CRLF we add when the file's last line has no line end, so a
// client that un-stuffs what RETR sent gets exactly that many octets.
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

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

  push(chunk: Buffer): Buffer {
    // Worst case every byte doubles ("\n" → "\r\n", "." at line start → "..").
    const out = Buffer.allocUnsafe(chunk.length * 2);
    let o = 0;
    for (let i = 0; i < chunk.length && !this.done; i++) {
      const b = chunk[i] as number;
      if (this.atLineStart && b === DOT) out[o++] = DOT;
      if (b === LF) {
        if (!this.prevCR) out[o++] = CR;
        out[o++] = LF;
        this.endLine();
      } else {
        out[o++] = b;
        this.atLineStart = false;
        if (b !== CR) this.lineHasContent = true;
      }
      this.prevCR = b === CR;
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

/** Octets of the wire form without stuffing: raw size + bare LFs + a closing line end if missing. */
export async function wireSize(path: string): Promise<number> {
  let size = 0;
  let prev = LF;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      const before = i > 0 ? chunk[i - 1] : prev;
      if (before !== CR) size++;
    }
    prev = chunk[chunk.length - 1] as number;
  }
  if (prev === CR) size += 1;
  else if (prev !== LF) size += 2;
  return size;
}

/** Streams an open message file to `write`, honouring back-pressure, then the terminator. */
export async function sendMessage(
  file: FileHandle,
  write: (data: Buffer | string) => Promise<void>,
  bodyLines?: number,
): Promise<void> {
  const encoder = new WireEncoder(bodyLines);
  const stream = file.createReadStream({ highWaterMark: 64 * 1024, autoClose: false });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const out = encoder.push(chunk);
      if (out.length > 0) await write(out);
      if (encoder.done) break;
    }
  } finally {
    stream.destroy();
  }
  await write(Buffer.concat([encoder.end(), Buffer.from('.\r\n')]));
}
