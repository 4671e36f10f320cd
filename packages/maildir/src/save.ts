// Writing messages into a folder for APPEND, COPY and MOVE (Dovecot's
// maildir-save.c / maildir-copy.c). Same rule as delivery: a message becomes
// visible only complete — written to tmp/, fsynced, then renamed into new/
// or cur/. Every saved file gets a fresh base name, so the target folder's
// sync gives it a new UID (a message never comes back with an old UID).
//
// Base name: `<seconds>.M<micros>P<pid>R<random>.<host>,S=<size>`, unique per
// the Maildir spec; `<seconds>` is the internal date, so opening a folder does
// not need to stat files to know it.
import { randomBytes } from 'node:crypto';
import { copyFile, link, open, rename, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsyncDir } from './fsutil.js';

export function safeHost(host: string): string {
  // Maildir spec: '/' and ':' cannot appear; we also keep ',' and spaces out of the base.
  return host.replace(/[/:,\s\u0000-\u001f\u007f]/g, '_') || 'localhost';
}

export function makeBase(host: string, time: Date, size: number): string {
  const sec = Math.floor(time.getTime() / 1000);
  const micros = Number(process.hrtime.bigint() / 1000n) % 1_000_000;
  return `${sec}.M${micros}P${process.pid}R${randomBytes(5).toString('hex')}.${safeHost(host)},S=${size}`;
}

export const defaultHost = (): string => safeHost(hostname());

/** The internal date encoded at the start of a base name, or null. */
export function nameTime(base: string): number | null {
  const m = /^(\d{9,11})\./.exec(base);
  return m ? Number(m[1]) * 1000 : null;
}

/** The file name inside new/ or cur/: files with flags must live in cur/. */
export function targetName(base: string, letters: string | null): { sub: 'new' | 'cur'; name: string } {
  return letters === null ? { sub: 'new', name: base } : { sub: 'cur', name: `${base}:2,${letters}` };
}

/**
 * Writes `bytes` as a new message into tmp/; `publish` then renames it into
 * new/ or cur/ (the caller does that under the folder lock). Returns the base.
 */
export async function saveMessage(
  dir: string,
  bytes: Buffer,
  opts: { host: string; date: Date; letters: string | null },
): Promise<{ base: string; publish: () => Promise<void>; discard: () => Promise<void> }> {
  const base = makeBase(opts.host, opts.date, bytes.length);
  const tmp = join(dir, 'tmp', base);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  // mtime is the internal date for Dovecot and other readers of the same Maildir.
  await utimes(tmp, opts.date, opts.date).catch(() => {});
  const t = targetName(base, opts.letters);
  return {
    base,
    publish: async () => {
      try {
        await rename(tmp, join(dir, t.sub, t.name));
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
      await fsyncDir(join(dir, t.sub));
    },
    discard: () => unlink(tmp).catch(() => {}),
  };
}

/** Copies a file into `dir` under `base` by hard link (same volume), falling back to a byte copy. */
export async function linkCopy(src: string, dir: string, base: string, letters: string): Promise<void> {
  const tmp = join(dir, 'tmp', base);
  try {
    await link(src, tmp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
    await copyFile(src, tmp);
    const fh = await open(tmp, 'r+');
    await fh.sync().finally(() => fh.close());
  }
  const t = targetName(base, letters);
  try {
    await rename(tmp, join(dir, t.sub, t.name));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
