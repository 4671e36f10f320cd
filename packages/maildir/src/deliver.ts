// Delivery into a Maildir folder, crash-safe and idempotent:
//   1. claim the delivery key: create `tmp/<base>` (O_EXCL), where <base> is
//      derived from the spool id and recipient; the message is written into that
//      file and fsynced, which makes the claim durable with it
//   2. link it into new/ under `<base>,S=<size>` and fsync new/
//   3. leave the claim in tmp/ until the caller's job is finished
//      (releaseClaims): while it exists, a retried delivery of the same key finds
//      it and looks for the earlier copy instead of making a second
// A first attempt (the common case) lists nothing and creates one file: the
// claim is the message's tmp file. Only a retry (claim present) looks for the
// earlier copy, wherever a reader has moved it, and writes its bytes to a
// second tmp file. Readers never see a partial message; a crash leaves at
// most files in tmp/, which Maildir readers ignore and remove after 36 hours.
// With a quota, the size is checked once the message is in tmp/ (its size is
// only known then) and before it becomes visible; over quota → MaildirError
// 'over-quota' and nothing is left behind.
// With an indexer, the message is parsed once, here, from the bytes as they
// are written, and its summary appended to the folder's summaries index
// after the link: the first FETCH ENVELOPE/BODYSTRUCTURE reads no file. The
// index is a cache — an indexer failure or a crash before the line is
// written only leaves the work for the reader.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  statSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDirInline, fsyncDirSync, fsyncFd, isMissing } from './fsutil.js';
import { appendIndexEntriesSync, SUMMARY_FILE } from './index-cache.js';
import { MaildirError } from './layout.js';
import { checkQuota, type QuotaLimit, recordQuota } from './quota.js';
import type { Indexer } from './types.js';

export async function ensureMaildir(dir: string): Promise<void> {
  await Promise.all(
    ['cur', 'new', 'tmp'].map((sub) => mkdir(join(dir, sub), { recursive: true, mode: 0o700 })),
  );
}

export interface DeliverOptions {
  /** Folder directory (see folderDir). */
  dir: string;
  /** Stable key of this delivery, e.g. `<spoolId>.<recipient hash>`; [A-Za-z0-9_-] only. */
  deliveryKey: string;
  /** Seconds since the epoch for the name's time part (the arrival time, stable across retries). */
  time: number;
  /** Host part of the name: the server's configured name, the same on every worker. */
  host: string;
  /** Bytes to write first, e.g. headers added by the filter. */
  prefix?: Buffer;
  source: Readable | Buffer;
  /** The user's quota: `root` is the Maildir++ root (userMaildir), where maildirsize lives. */
  quota?: { root: string; limit: QuotaLimit };
  /** Computes the message's summary for the folder's summaries index (IMAP: @postamt/mime summarizeMessage). */
  indexer?: Indexer;
  /** Messages bigger than this are not indexed here (not held in memory); default 32 MiB. */
  maxIndexBytes?: number;
  /**
   * fsync on the calling thread instead of the thread pool. For a caller that
   * serves no clients (the filter worker): each pool round trip costs a thread
   * hand-off both ways, about as much CPU as the fsync itself; blocking only
   * delays that process's other jobs by the disk's latency.
   */
  syncInline?: boolean;
}

const MAX_INDEX_BYTES = 32 * 1024 * 1024;

export interface Delivered {
  name: string;
  path: string;
  size: number;
  /** False when an earlier attempt had already delivered this message. */
  created: boolean;
  /** The delivery key's claim in tmp/: pass it to releaseClaims once the job is finished. */
  claim: string;
}

/** Finds an earlier delivery of `base` in new/ or cur/ (where a reader may have moved and flagged it). */
async function findExisting(dir: string, base: string): Promise<string | null> {
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    const hit = names.find((n) => n === base || n.startsWith(`${base},`) || n.startsWith(`${base}:`));
    if (hit) return join(dir, sub, hit);
  }
  return null;
}

export async function deliver(opts: DeliverOptions): Promise<Delivered> {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.deliveryKey))
    throw new MaildirError('invalid delivery key', 'invalid-name');
  const host = opts.host.replace(/[/:]/g, '_');
  const base = `${opts.time}.${opts.deliveryKey}.${host}`;
  const claim = join(opts.dir, 'tmp', base);
  // The folder is only created when it is missing (a first delivery, a new Junk):
  // three mkdirs on every delivery were the biggest cost of a small one.
  let tmpPath = claim;
  let fd = await withFolder(opts.dir, () => openClaim(claim));
  if (fd === null) {
    // Claimed before: an earlier attempt may have delivered it, and a reader may have
    // moved or flagged that copy since.
    const existing = await findExisting(opts.dir, base);
    if (existing) {
      const st = await stat(existing);
      return {
        name: existing.slice(existing.lastIndexOf('/') + 1),
        path: existing,
        size: st.size,
        created: false,
        claim,
      };
    }
    tmpPath = `${claim}.${randomBytes(4).toString('hex')}`;
    fd = openSync(tmpPath, 'wx', 0o600);
  }
  const sync = opts.syncInline ? async (f: number) => fsyncSync(f) : fsyncFd;
  const syncDir = opts.syncInline ? async (d: string) => fsyncDirSync(d) : fsyncDirInline;
  // A claim left by an attempt that died before its fsync may not be on disk yet: made
  // durable before this copy can be (the rare retry pays one more directory fsync).
  if (tmpPath !== claim) await syncDir(join(opts.dir, 'tmp'));
  let size = 0;
  // The bytes for the indexer, kept as written; dropped when over the cap.
  const maxIndex = opts.maxIndexBytes ?? MAX_INDEX_BYTES;
  let kept: Buffer[] | null = opts.indexer ? [] : null;
  const account = (buf: Buffer) => {
    size += buf.length;
    if (kept && size <= maxIndex) kept.push(buf);
    else kept = null;
  };
  const write = (buf: Buffer) => {
    writeAll(fd, buf);
    account(buf);
  };
  try {
    if (opts.prefix && Buffer.isBuffer(opts.source)) {
      // The usual filter delivery, header block and message in memory: one syscall.
      writevAll(fd, [opts.prefix, opts.source]);
      account(opts.prefix);
      account(opts.source);
    } else {
      if (opts.prefix) write(opts.prefix);
      if (Buffer.isBuffer(opts.source)) write(opts.source);
      else for await (const chunk of opts.source) write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
    await sync(fd);
  } catch (err) {
    closeQuietly(fd);
    unlinkQuietly(tmpPath);
    throw err;
  }
  closeSync(fd);
  if (opts.quota) {
    try {
      await checkQuota(opts.quota.root, opts.quota.limit, size);
    } catch (err) {
      unlinkQuietly(tmpPath);
      throw err;
    }
  }
  const name = `${base},S=${size}`;
  const finalPath = join(opts.dir, 'new', name);
  let created = true;
  try {
    await withFolder(opts.dir, () => linkSync(tmpPath, finalPath));
    await syncDir(join(opts.dir, 'new'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      unlinkQuietly(tmpPath);
      throw err;
    }
    created = false;
  }
  // A retry's own tmp file goes; the claim stays until the caller releases it.
  if (tmpPath !== claim) unlinkQuietly(tmpPath);
  if (created && opts.quota) await recordQuota(opts.quota.root, size, 1);
  if (created && opts.indexer && kept)
    await indexDelivered(opts.dir, name, opts.time * 1000, Buffer.concat(kept, size), opts.indexer);
  return { name, path: finalPath, size, created, claim };
}

/**
 * Removes delivery claims once nothing can retry those deliveries (the job that
 * made them is finished). Without this they stay in tmp/ until Maildir's 36-hour
 * cleanup, keeping a deleted message's bytes on disk until then.
 */
export function releaseClaims(claims: Iterable<string>): void {
  for (const claim of claims) unlinkQuietly(claim);
}

/** Creates the claim file; null when it exists (an earlier attempt made it). */
function openClaim(path: string): number | null {
  try {
    return openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
}

// The file-system calls of a delivery run inline (sync): each is a metadata
// call of a few µs on a local disk, while a thread-pool round trip costs ~50 µs
// of CPU — most of what delivering a small message cost. Only the fsyncs,
// which wait for the disk, go to the thread pool, unless the caller asks for
// them on the spot too (syncInline: the filter worker). Delivery runs in the filter
// worker (and admin's release), which serve no clients: on a slow network
// file system a call stalls only jobs that wait for that disk anyway.

/** Runs `fn`; when the folder (tmp/ or new/) is missing, creates it and runs `fn` again. */
async function withFolder<T>(dir: string, fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  await ensureMaildir(dir);
  return fn();
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}

function writevAll(fd: number, bufs: Buffer[]): void {
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const done = writevSync(fd, bufs);
  if (done < total) writeAll(fd, Buffer.concat(bufs).subarray(done));
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

/** Appends the summary line keyed as readers key it: the file name before any `:2,` info. */
async function indexDelivered(dir: string, name: string, date: number, bytes: Buffer, indexer: Indexer) {
  try {
    const summary = await indexer(bytes);
    appendIndexEntriesSync(dir, SUMMARY_FILE, [[name, { size: bytes.length, date, summary }]]);
  } catch {
    // Only a cache: the reader computes what is missing.
  }
}
