// Small file-system helpers shared by the Maildir modules. Everything that
// replaces a file does it by writing a temporary sibling, fsyncing it and
// renaming it over the old one, so a reader (or a crash) only ever sees the
// old or the new version, never a mix.
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { constants, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';
export const isExisting = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'EEXIST';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync(2) on the thread pool: it waits for the disk, so it stays off the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * fsyncDir with the open and close inline (a few µs each, where a thread-pool
 * round trip costs ~50 µs): for delivery, which does it twice per message.
 */
export async function fsyncDirInline(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncDir entirely on the calling thread, for callers that serve no clients (DeliverOptions.syncInline). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function uniqueToken(): string {
  return `${process.pid}.${randomBytes(6).toString('hex')}`;
}

/**
 * Replaces `path` atomically. `durable` adds the fsyncs a crash-safe list file
 * needs; caches skip them because losing one only costs a rebuild.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, durable = true): Promise<void> {
  // The temporary name starts with the target's name so stale ones are easy to
  // recognise and clean up; it never starts with '.', so it is never a folder.
  const tmp = join(dirname(path), `${basename(path)}.${uniqueToken()}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (durable) await fsyncDir(dirname(path));
}

/** Runs `fn` over `items` with at most `limit` running at once; keeps order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
