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
//   found again by their base name, which never changes. The snapshot path is
//   tried first (no stat per message), the directories are searched on ENOENT.
// - Small files are read, and QUIT's renames/unlinks done, with blocking calls
//   (@postamt/maildir readInline), yielding to other sessions every YIELD_EVERY files.
import { renameSync, unlinkSync } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseName, readInline } from '@postamt/maildir';
import { measure, measureBuffer } from './retr.js';
import { uidFor } from './uid.js';

export interface MaildropMessage {
  /** 1-based message number of this session. */
  readonly number: number;
  readonly base: string;
  readonly uid: string;
  /** Octets on the wire (see retr.ts). */
  readonly size: number;
  /** Octets in the file. */
  readonly rawSize: number;
  path: string;
  deleted: boolean;
  retrieved: boolean;
}

interface Sizes {
  raw: number;
  wire: number;
}

/**
 * Sizes by Maildir base name. Maildir files are never rewritten and a base
 * name is never reused, so the base identifies the content wherever IMAP
 * moves the file; a login after the first needs neither stat(2) nor a read
 * per message. Bounded: the oldest entries go first.
 */
export class SizeCache {
  private readonly map = new Map<string, Sizes>();
  /** `syncReadMax`: files up to this size are read with blocking calls (@postamt/maildir readInline). */
  constructor(
    readonly syncReadMax = 64 * 1024,
    private readonly limit = 100_000,
  ) {}

  peek(base: string): Sizes | undefined {
    return this.map.get(base);
  }

  async get(base: string, path: string): Promise<Sizes> {
    const hit = this.map.get(base);
    if (hit !== undefined) return hit;
    const small = this.syncReadMax > 0 ? readInline(path, this.syncReadMax) : null;
    const sizes = small ? measureBuffer(small) : await measure(path);
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string);
    this.map.set(base, sizes);
    return sizes;
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

/** Files in new/ and cur/ (not dot files), by base name, in arrival order (names start with the time). */
async function listFiles(dir: string): Promise<{ base: string; path: string }[]> {
  const out: { base: string; path: string }[] = [];
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    const prefix = `${join(dir, sub)}/`;
    for (const name of names) {
      if (name.startsWith('.')) continue;
      // The base is the name without the ":2,<flags>" info part (parseName, minus the S= lookup).
      const colon = name.indexOf(':');
      out.push({ base: colon < 0 ? name : name.slice(0, colon), path: prefix + name });
    }
  }
  return out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

/** Blocking file operations in a row before other sessions get a turn. */
const YIELD_EVERY = 256;

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

export class Maildrop {
  private readonly curPrefix: string;

  private constructor(
    private readonly dir: string,
    private readonly messages: MaildropMessage[],
  ) {
    this.curPrefix = `${join(dir, 'cur')}/`;
  }

  /** Takes the snapshot. Messages that vanish while it is taken are left out. */
  static async open(dir: string, sizes: SizeCache): Promise<Maildrop> {
    const files = await listFiles(dir);
    // Known sizes first, without an await each: a warm login is one loop.
    const known = files.map((f) => sizes.peek(f.base));
    const missing = known.flatMap((size, i) => (size ? [] : [i]));
    let done = 0;
    await mapLimit(missing, 8, async (i) => {
      const f = files[i] as (typeof files)[number];
      // Small files are measured with blocking reads: let other sessions run now and then.
      if (++done % YIELD_EVERY === 0) await yieldToLoop();
      try {
        known[i] = await sizes.get(f.base, f.path);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    });
    const messages = files
      .flatMap((file, i) => {
        const size = known[i];
        return size ? [{ file, size }] : [];
      })
      .map(({ file, size }, i) => ({
        number: i + 1,
        base: file.base,
        uid: uidFor(file.base),
        size: size.wire,
        rawSize: size.raw,
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

  /** Where IMAP moved the file since the snapshot, or null if it is gone. */
  private async find(m: MaildropMessage): Promise<string | null> {
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

  /**
   * Runs `op` on the message's file: first at the snapshot path (no stat
   * first — that is the common case), on ENOENT wherever it is now. Null when
   * the file is gone.
   */
  private async withPath<T>(m: MaildropMessage, op: (path: string) => Promise<T>): Promise<T | null> {
    let path: string | null = m.path;
    for (let attempt = 0; attempt < 3 && path !== null; attempt++) {
      try {
        return await op(path);
      } catch (e) {
        if (!isMissing(e)) throw e; // moved meanwhile: look for it
      }
      path = await this.find(m);
    }
    return null;
  }

  /** The whole file if it is at most `max` octets (read with blocking calls), else 'large'; null if gone. */
  readSmall(m: MaildropMessage, max: number): Promise<Buffer | 'large' | null> {
    return this.withPath(m, async (p) => readInline(p, max) ?? 'large');
  }

  /** Opens the message for reading; null if another process removed it. */
  openFile(m: MaildropMessage): Promise<FileHandle | null> {
    return this.withPath(m, (p) => open(p, 'r'));
  }

  /**
   * The UPDATE state. A file already gone counts as removed; failures are
   * counted, not thrown. unlink/rename are blocking calls (microseconds each,
   * where a thread-pool round trip costs ten times more), with a pause for
   * other sessions every YIELD_EVERY files.
   */
  async commit(): Promise<{ removed: number; failed: number }> {
    let removed = 0;
    let failed = 0;
    let done = 0;
    for (const m of this.messages) {
      if (!m.deleted && (!m.retrieved || this.seenAtSnapshot(m))) continue;
      if (++done % YIELD_EVERY === 0) await yieldToLoop();
      try {
        if (m.deleted) {
          await this.withPath(m, async (p) => unlinkSync(p));
          removed++;
        } else {
          await this.withPath(m, async (p) => this.markSeen(p, m.base));
        }
      } catch {
        // A seen flag that could not be set is harmless; a deletion that failed is reported.
        if (m.deleted) failed++;
      }
    }
    return { removed, failed };
  }

  /**
   * Already in cur/ with the seen flag when the snapshot was taken: nothing to
   * do (and no await per message for a maildrop fetched before). Should IMAP
   * have cleared the flag since, the user's later choice stands.
   */
  private seenAtSnapshot(m: MaildropMessage): boolean {
    return m.path.startsWith(this.curPrefix) && /:2,[A-Za-z]*S/.test(m.path.slice(this.curPrefix.length));
  }

  /** Maildir: cur/<base>:2,<flags> with flags in ASCII order. */
  private markSeen(path: string, base: string): void {
    const { flags } = parseName(path.slice(path.lastIndexOf('/') + 1));
    if (flags.includes('S') && dirname(path) === join(this.dir, 'cur')) return;
    const next = [...new Set([...flags, 'S'])].sort().join('');
    renameSync(path, join(this.dir, 'cur', `${base}:2,${next}`));
  }
}
