// A lock file shared by processes on several machines that mount one volume
// (the Dovecot dotlock idea). It is created with O_EXCL, which is atomic on
// local file systems and on NFSv3+, and holds who took it:
//
//   <host identity>\n<pid>\n<epoch ms>\n<token>\n
//
// Never an in-process mutex: two Store objects in one process lock each other
// out exactly like two processes do.
//
// A lock is stale when its holder is a dead process on this host (same host
// identity, kill(pid, 0) fails with ESRCH), or when its mtime is older than
// `staleMs` (a holder on another machine that crashed). Holders touch the file
// while they work, so a long sync is not mistaken for a crash.
//
// Breaking a stale lock renames it aside first and checks that the file moved
// is the one judged stale; if a fresh lock was moved by mistake (another
// process broke the same stale lock and took a new one in between), it is put
// back. Release only unlinks the file if it still holds our token.
import { readlinkSync } from 'node:fs';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isExisting, isMissing, uniqueToken } from './fsutil.js';
import { MaildirError } from './layout.js';

export interface LockOptions {
  /** A lock untouched this long is taken to be abandoned. */
  staleMs?: number;
  /** Give up (MaildirError 'locked') after waiting this long. */
  timeoutMs?: number;
}

const DEFAULT_STALE_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 20_000;

/** Host name plus PID namespace: two containers may share a host name but never a PID namespace. */
function hostIdentity(): string {
  let ns = '';
  try {
    ns = readlinkSync('/proc/self/ns/pid').replace(/[^0-9]/g, '');
  } catch {
    // Not Linux: the host name alone.
  }
  return `${hostname()}${ns ? `/${ns}` : ''}`;
}

export const HOST_ID = hostIdentity();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  host: string;
  pid: number;
  time: number;
  token: string;
}

function parseHolder(text: string): Holder | null {
  const [host, pid, time, token] = text.split('\n');
  if (!host || !pid || !time || !token) return null;
  return { host, pid: Number(pid), time: Number(time), token };
}

async function isStale(path: string, text: string, staleMs: number): Promise<boolean> {
  const holder = parseHolder(text);
  if (holder && holder.host === HOST_ID && holder.pid !== process.pid && !pidAlive(holder.pid)) return true;
  const st = await stat(path).catch(() => null);
  if (!st) return false; // already gone: just retry
  // A half-written lock (crash between create and write) is judged by age only.
  return Date.now() - st.mtimeMs > staleMs;
}

async function breakStale(path: string, seen: string): Promise<void> {
  const aside = `${path}.${uniqueToken()}.stale`;
  try {
    await rename(path, aside);
  } catch (e) {
    if (isMissing(e)) return;
    throw e;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== seen) {
    // We moved someone's fresh lock: put it back unless a third process has
    // already taken the name (then that one wins and the moved holder will
    // notice at release that its token is gone).
    await link(aside, path).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

export class FileLock {
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string, opts: LockOptions = {}): Promise<FileLock> {
    const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
    const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const token = uniqueToken();
    const body = `${HOST_ID}\n${process.pid}\n${Date.now()}\n${token}\n`;
    let wait = 2;
    for (;;) {
      try {
        const fh = await open(path, 'wx', 0o600);
        try {
          await fh.writeFile(body);
        } finally {
          await fh.close();
        }
        const lock = new FileLock(path, token);
        // Touch at a third of the stale age so a slow holder is never broken.
        lock.timer = setInterval(
          () => {
            const now = new Date();
            utimes(path, now, now).catch(() => {});
          },
          Math.max(50, Math.floor(staleMs / 3)),
        );
        lock.timer.unref();
        return lock;
      } catch (e) {
        if (!isExisting(e)) throw new MaildirError(`cannot create lock: ${(e as Error).message}`, 'io');
      }
      const seen = await readFile(path, 'utf8').catch(() => null);
      if (seen !== null && (await isStale(path, seen, staleMs))) {
        await breakStale(path, seen);
        continue;
      }
      if (Date.now() > deadline) throw new MaildirError('timed out waiting for a lock', 'locked');
      // Jittered backoff so many waiters do not retry in lockstep.
      await sleep(wait + Math.random() * wait);
      wait = Math.min(wait * 2, 50);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    const text = await readFile(this.path, 'utf8').catch(() => null);
    if (text !== null && parseHolder(text)?.token === this.token) await unlink(this.path).catch(() => {});
  }
}

export async function withLock<T>(path: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
  const lock = await FileLock.acquire(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
