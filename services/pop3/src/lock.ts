// The maildrop lock (RFC 1939 §8: the server should lock the maildrop so one
// POP3 session at a time owns it). A file `.pop3.lock` in the user's Maildir,
// created with O_EXCL, so it works across processes and across machines that
// share the volume. It holds host, pid and a random token; its mtime is
// refreshed while the session lives.
//
// A lock is stale — and broken — when its mtime is older than `staleMs` (the
// holder died or lost the volume), or when it was taken on this host by a pid
// that no longer exists. Breaking renames the file aside first and checks it is
// still the one judged stale, so two breakers cannot remove a fresh lock.
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_NAME = '.pop3.lock';

export interface LockOptions {
  /** A lock not refreshed for this long is stale. */
  staleMs?: number;
  /** How often the holder refreshes the mtime. */
  refreshMs?: number;
  onLost?: () => void;
}

export interface MaildropLock {
  release(): Promise<void>;
}

interface Owner {
  host: string;
  pid: number;
  token: string;
  time: string;
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

async function readOwner(path: string): Promise<Owner | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Owner;
  } catch {
    return null;
  }
}

async function isStale(path: string, staleMs: number): Promise<{ stale: boolean; content: string | null }> {
  const [st, content] = await Promise.all([
    stat(path).catch(() => null),
    readFile(path, 'utf8').catch(() => null),
  ]);
  if (!st) return { stale: false, content: null };
  if (Date.now() - st.mtimeMs > staleMs) return { stale: true, content };
  let owner: Owner | null = null;
  try {
    owner = content ? (JSON.parse(content) as Owner) : null;
  } catch {
    // A half-written lock is judged by its age alone.
  }
  const deadHere = owner !== null && owner.host === hostname() && !pidAlive(owner.pid);
  return { stale: deadHere, content };
}

/** Removes a stale lock unless someone replaced it meanwhile. */
async function breakLock(path: string, judged: string | null): Promise<void> {
  const aside = `${path}.stale.${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const now = await readFile(aside, 'utf8').catch(() => null);
  if (now !== judged) {
    // We moved a fresh lock taken after our check: put it back if the place is still free.
    await link(aside, path).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

/** Takes the lock of the Maildir `dir`, or returns null when a live session holds it. */
export async function acquireLock(dir: string, opts: LockOptions = {}): Promise<MaildropLock | null> {
  const staleMs = opts.staleMs ?? 5 * 60_000;
  const refreshMs = opts.refreshMs ?? Math.max(1000, Math.floor(staleMs / 5));
  const path = join(dir, LOCK_NAME);
  const owner: Owner = {
    host: hostname(),
    pid: process.pid,
    token: randomBytes(12).toString('hex'),
    time: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(JSON.stringify(owner));
      await fh.close();
      return held(path, owner, refreshMs, opts.onLost);
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
    }
    const { stale, content } = await isStale(path, staleMs);
    if (!stale && content !== null) return null;
    if (stale) await breakLock(path, content);
  }
  return null;
}

function held(path: string, owner: Owner, refreshMs: number, onLost?: () => void): MaildropLock {
  const ours = async () => (await readOwner(path))?.token === owner.token;
  const timer = setInterval(() => {
    void (async () => {
      if (!(await ours())) {
        clearInterval(timer);
        onLost?.();
        return;
      }
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
    })();
  }, refreshMs);
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (await ours()) await unlink(path).catch(() => {});
    },
  };
}
