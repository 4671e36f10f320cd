// Reading a small message file on the spot instead of through libuv's thread
// pool. A file in the page cache is read in ~12 µs with blocking calls, while
// the pool's open/fstat/read/close round trips cost ~65 µs of CPU and more of
// wall time (measured on 10,000 files of the bench corpus: 120–250 ms against
// 640–1,380 ms) — most of what a SEARCH TEXT or a first FETCH of bodies costs.
// A blocking read that has to wait for the disk would stall every session of
// the process, so one slow read sends all reads back to the pool for a while.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Files larger than this always go through the pool. */
export const INLINE_MAX_BYTES = 1024 * 1024;
/** A read slower than this was not served from memory. */
const SLOW_MS = 4;
/** How long reads stay in the pool after a slow one. */
const BACK_OFF_MS = 5_000;

let pooledUntil = 0;

/**
 * The whole file, read with blocking calls; null when the caller should read
 * it through the pool instead (too large, or the disk was slow lately).
 * Errors (ENOENT when the file moved) are thrown as from the async calls.
 */
export function readInline(path: string, maxBytes = INLINE_MAX_BYTES): Buffer | null {
  const start = performance.now();
  if (start < pooledUntil) return null;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) return null;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
    if (performance.now() - start > SLOW_MS) pooledUntil = performance.now() + BACK_OFF_MS;
  }
}

/** For tests: forget a recent slow read. */
export function resetInlineReads(): void {
  pooledUntil = 0;
}
