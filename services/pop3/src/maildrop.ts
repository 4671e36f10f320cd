// The maildrop of one POP3 session: a snapshot of the Maildir INBOX taken at
// login (RFC 1939 §5 — numbers and sizes do not change during the session,
// whatever other processes deliver meanwhile), deletion marks, and the commit
// the UPDATE state runs on QUIT (RFC 1939 §6).
//
// Policy, chosen and documented here:
// - DELE only marks. QUIT unlinks the marked files. A dropped connection
//   commits nothing (RFC 1939 §6: no UPDATE state without QUIT).
// - RETR (not TOP) records that a message was retrieved; QUIT moves it
//   new/ → cur/ and adds the `S` (seen) flag, keeping the other flags, so IMAP
//   shows it as read. Like deletions this happens only on QUIT, so a dropped
//   connection leaves the Maildir exactly as it was.
// - Files may be moved meanwhile by IMAP (new/ → cur/, flag changes): they are
//   found again by their base name, which never changes.
import { type FileHandle, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listMessages, parseName } from '@postamt/maildir';
import { wireSize } from './retr.js';
import { uidFor } from './uid.js';

export interface MaildropMessage {
  /** 1-based message number of this session. */
  readonly number: number;
  readonly base: string;
  readonly uid: string;
  /** Octets on the wire (see retr.ts). */
  readonly size: number;
  path: string;
  deleted: boolean;
  retrieved: boolean;
}

/**
 * Wire sizes by file identity. Maildir files are never rewritten, so a base name
 * and raw size identify the content; this spares re-reading every message at
 * each login. Bounded: the oldest entries go first.
 */
export class SizeCache {
  private readonly map = new Map<string, number>();
  constructor(private readonly limit = 100_000) {}

  async get(base: string, rawSize: number, path: string): Promise<number> {
    const key = `${base}\u0000${rawSize}`;
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    const size = await wireSize(path);
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, size);
    return size;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

export class Maildrop {
  private constructor(
    private readonly dir: string,
    private readonly messages: MaildropMessage[],
  ) {}

  /** Takes the snapshot. Messages that vanish while it is taken are left out. */
  static async open(dir: string, sizes: SizeCache): Promise<Maildrop> {
    const files = await listMessages(dir);
    const sized = await mapLimit(files, 8, async (f) => {
      try {
        return { file: f, size: await sizes.get(f.base, f.size, f.path) };
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    });
    const messages = sized
      .filter((s) => s !== null)
      .map(({ file, size }, i) => ({
        number: i + 1,
        base: file.base,
        uid: uidFor(file.base),
        size,
        path: file.path,
        deleted: false,
        retrieved: false,
      }));
    return new Maildrop(dir, messages);
  }

  /** A message that exists and is not marked deleted, or null (RFC 1939 §5). */
  get(n: number): MaildropMessage | null {
    const m = this.messages[n - 1];
    return m && !m.deleted ? m : null;
  }

  /** True when `n` is a message number of this session, deleted or not. */
  has(n: number): boolean {
    return n >= 1 && n <= this.messages.length;
  }

  visible(): MaildropMessage[] {
    return this.messages.filter((m) => !m.deleted);
  }

  stat(): { count: number; size: number } {
    const v = this.visible();
    return { count: v.length, size: v.reduce((sum, m) => sum + m.size, 0) };
  }

  delete(m: MaildropMessage): void {
    m.deleted = true;
  }

  /** RETR: mark seen on commit (see above). TOP does not count as reading. */
  retrieved(m: MaildropMessage): void {
    m.retrieved = true;
  }

  /** RSET (RFC 1939 §5): unmark every deleted message. */
  reset(): void {
    for (const m of this.messages) m.deleted = false;
  }

  /** Where the file is now: the snapshot path, or wherever IMAP moved it. */
  private async locate(m: MaildropMessage): Promise<string | null> {
    if (
      await stat(m.path).then(
        () => true,
        () => false,
      )
    )
      return m.path;
    for (const sub of ['cur', 'new']) {
      const names = await readdir(join(this.dir, sub)).catch(() => [] as string[]);
      const hit = names.find((n) => n === m.base || n.startsWith(`${m.base}:`));
      if (hit) {
        m.path = join(this.dir, sub, hit);
        return m.path;
      }
    }
    return null;
  }

  /** Opens the message for reading; null if another process removed it. */
  async openFile(m: MaildropMessage): Promise<FileHandle | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const path = await this.locate(m);
      if (!path) return null;
      try {
        return await open(path, 'r');
      } catch (e) {
        if (!isMissing(e)) throw e; // moved between locate and open: look again
      }
    }
    return null;
  }

  /** The UPDATE state. A file already gone counts as removed; failures are counted, not thrown. */
  async commit(): Promise<{ removed: number; failed: number }> {
    let removed = 0;
    let failed = 0;
    for (const m of this.messages) {
      try {
        if (m.deleted) {
          await this.retry(m, (p) => unlink(p));
          removed++;
        } else if (m.retrieved) {
          await this.retry(m, (p) => this.markSeen(p, m.base));
        }
      } catch {
        // A seen flag that could not be set is harmless; a deletion that failed is reported.
        if (m.deleted) failed++;
      }
    }
    return { removed, failed };
  }

  private async retry(m: MaildropMessage, op: (path: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const path = await this.locate(m);
      if (!path) return;
      try {
        return await op(path);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    }
  }

  /** Maildir: cur/<base>:2,<flags> with flags in ASCII order. */
  private async markSeen(path: string, base: string): Promise<void> {
    const { flags } = parseName(path.slice(path.lastIndexOf('/') + 1));
    if (flags.includes('S') && dirname(path) === join(this.dir, 'cur')) return;
    const next = [...new Set([...flags, 'S'])].sort().join('');
    await rename(path, join(this.dir, 'cur', `${base}:2,${next}`));
  }
}
