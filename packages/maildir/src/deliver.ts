// Delivery into a Maildir folder, crash-safe and idempotent:
//   1. write the message to tmp/ and fsync it
//   2. leave a marker `postamt-delivered/<day>/<base>` (fsynced) saying this
//      delivery key may have reached the folder
//   3. link it into new/ under a name derived from the spool id and recipient,
//      so a retried delivery finds its earlier copy instead of making a second
//   4. fsync new/, remove the tmp file
// A first attempt (no marker: the common case) costs one stat, not a listing
// of new/ and cur/ (100,000 names in a big INBOX). Only a retry — marker
// present — looks for the earlier copy, wherever a reader has moved it. The
// marker is written before the link, so a copy never exists without one.
// Markers live in one directory per arrival day; days older than
// MARKER_DAYS (well past any spool retry) are removed when a new day starts.
// Readers never see a partial message; a crash leaves at most a tmp file.
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
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
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

export const DELIVERED_DIR = 'postamt-delivered';
const MARKER_DAYS = 14;

/** Starts a day's marker directory; the first delivery of a day also drops days past MARKER_DAYS. */
async function markerDir(dir: string, time: number): Promise<void> {
  const day = Math.floor(time / 86400);
  const root = join(dir, DELIVERED_DIR);
  const path = join(root, String(day));
  const created = await mkdir(path, { recursive: true, mode: 0o700 });
  if (created) {
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (/^\d+$/.test(name) && Number(name) < day - MARKER_DAYS)
        await rm(join(root, name), { recursive: true, force: true }).catch(() => {});
    }
  }
}

export async function deliver(opts: DeliverOptions): Promise<Delivered> {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.deliveryKey))
    throw new MaildirError('invalid delivery key', 'invalid-name');
  const host = opts.host.replace(/[/:]/g, '_');
  const base = `${opts.time}.${opts.deliveryKey}.${host}`;
  const retry = markerExists(opts.dir, opts.time, base);
  const existing = retry ? await findExisting(opts.dir, base) : null;
  if (existing) {
    const st = await stat(existing);
    return {
      name: existing.slice(existing.lastIndexOf('/') + 1),
      path: existing,
      size: st.size,
      created: false,
    };
  }
  const tmpPath = join(opts.dir, 'tmp', `${base}.${randomBytes(4).toString('hex')}`);
  // The folder is only created when it is missing (a first delivery, a new Junk):
  // three mkdirs on every delivery were the biggest cost of a small one.
  const fd = await withFolder(opts.dir, () => openSync(tmpPath, 'wx', 0o600));
  const sync = opts.syncInline ? async (f: number) => fsyncSync(f) : fsyncFd;
  const syncDir = opts.syncInline ? async (d: string) => fsyncDirSync(d) : fsyncDirInline;
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
    if (!retry) await leaveMarker(opts.dir, opts.time, base, syncDir);
    await withFolder(opts.dir, () => linkSync(tmpPath, finalPath));
    await syncDir(join(opts.dir, 'new'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      unlinkQuietly(tmpPath);
      throw err;
    }
    created = false;
  }
  // In the pool (unless syncInline): unlinking waits on the journal (see Spool.remove);
  // the link is already durable.
  if (opts.syncInline) unlinkQuietly(tmpPath);
  else await unlink(tmpPath).catch(() => {});
  if (created && opts.quota) await recordQuota(opts.quota.root, size, 1);
  if (created && opts.indexer && kept)
    await indexDelivered(opts.dir, name, opts.time * 1000, Buffer.concat(kept, size), opts.indexer);
  return { name, path: finalPath, size, created };
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

function markerExists(dir: string, time: number, base: string): boolean {
  try {
    statSync(join(dir, DELIVERED_DIR, String(Math.floor(time / 86400)), base));
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

/** Creates the marker (and its day directory when it is the day's first) and makes it durable. */
async function leaveMarker(
  dir: string,
  time: number,
  base: string,
  syncDir: (dir: string) => Promise<void>,
): Promise<void> {
  const day = join(dir, DELIVERED_DIR, String(Math.floor(time / 86400)));
  const create = () => closeSync(openSync(join(day, base), 'w', 0o600));
  try {
    create();
  } catch (err) {
    if (!isMissing(err)) throw err;
    await markerDir(dir, time);
    create();
  }
  await syncDir(day);
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
