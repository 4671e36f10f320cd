// The per-folder cache of what IMAP asks for often: size, internal date and
// an opaque summary (ENVELOPE/BODYSTRUCTURE, computed by an injected indexer:
// by the filter at delivery, by the IMAP server on APPEND/COPY/MOVE and for
// any message still without one), so opening or fetching from a
// 100,000-message folder does not read 100,000 files. Files `postamt-index.jsonl` (size and date) and
// `postamt-summaries.jsonl` (with the summary), one JSON array per line:
//
//   ["<base>", size, date]  or  ["<base>", size, date, summary]
//
// Keyed by base name: Maildir never rewrites a message file, so what we
// learned about a base stays true for as long as the base exists; a later
// line for the same base wins. New entries are appended (one write per
// batch, so indexing message by message costs each message's own line, not
// the whole file again); the file is compacted — rewritten with only live
// entries — when dead or repeated lines outnumber live ones. Entries of
// vanished bases are pruned in memory, once there are enough of them to be
// worth a walk of the index; an entry whose size disagrees with the
// `,S=` in the file name is treated as stale. Being a cache, it is written
// without fsync or lock: a torn or garbled line is skipped, an append lost to
// a concurrent compaction is only recomputed, a lost file is rebuilt. Other
// processes' appends are picked up by reading from where we stopped.
import { closeSync, openSync, writeSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';

export const INDEX_FILE = 'postamt-index.jsonl';
/**
 * The summaries live in a file of their own, same format: they are a hundred
 * times bigger than size and date, and SELECT, STATUS and `FETCH (FLAGS)`
 * never need them, so a session that does not ask for them never reads them.
 */
export const SUMMARY_FILE = 'postamt-summaries.jsonl';
/** The whole-file JSON index of earlier versions; removed when a folder first gets the new files. */
const OLD_INDEX_FILE = 'postamt-index.json';

export interface IndexEntry {
  size: number;
  /** Internal date, ms since the epoch. */
  date: number;
  summary?: unknown;
}

type Stored = [string, number, number] | [string, number, number, unknown];

const encode = (base: string, e: IndexEntry): string =>
  `${JSON.stringify(e.summary === undefined ? [base, e.size, e.date] : [base, e.size, e.date, e.summary])}\n`;

/**
 * Appends entries to a folder's index file without reading it: what a writer
 * that learned something about new messages (delivery, APPEND, COPY) uses.
 * One write() in append mode, so the lines land whole after whatever is
 * there; readers pick them up at their next refresh.
 */
export async function appendIndexEntries(
  dir: string,
  file: string,
  entries: Iterable<[string, IndexEntry]>,
): Promise<void> {
  let text = '';
  for (const [base, e] of entries) text += encode(base, e);
  if (text === '') return;
  const fh = await open(join(dir, file), 'a', 0o600);
  try {
    await fh.write(text);
  } finally {
    await fh.close();
  }
}

/**
 * appendIndexEntries with inline (sync) calls, for a writer that serves no
 * clients (delivery in the filter worker, see deliver.ts): three thread-pool
 * round trips cost more CPU than the line itself.
 */
export function appendIndexEntriesSync(
  dir: string,
  file: string,
  entries: Iterable<[string, IndexEntry]>,
): void {
  let text = '';
  for (const [base, e] of entries) text += encode(base, e);
  if (text === '') return;
  const fd = openSync(join(dir, file), 'a', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Entries of vanished bases kept before prune() walks the index (see there). */
const PRUNE_SLACK = 1000;

/** Lines longer than this are parsed on first use. */
const LAZY_LINE = 256;

function decode(line: string): [string, IndexEntry] | null {
  let s: Stored;
  try {
    s = JSON.parse(line) as Stored;
  } catch {
    return null; // a torn line from a crashed or racing writer
  }
  if (!Array.isArray(s) || typeof s[0] !== 'string' || typeof s[1] !== 'number' || typeof s[2] !== 'number')
    return null;
  return [s[0], s.length > 3 ? { size: s[1], date: s[2], summary: s[3] } : { size: s[1], date: s[2] }];
}

export class FolderIndex {
  /** Lines appended here but not yet written. */
  private pending: string[] = [];
  private dropped = false;
  /** Lines in the file, live or not. */
  private lines = 0;

  private constructor(
    private readonly path: string,
    /** Parsed entries, or the raw line of a long one not asked for yet. */
    private readonly entries: Map<string, IndexEntry | string>,
    /** Inode and bytes of the file read so far (complete lines only). */
    private ino: number,
    private size: number,
  ) {}

  static async load(dir: string, file = INDEX_FILE): Promise<FolderIndex> {
    const index = new FolderIndex(join(dir, file), new Map(), 0, 0);
    await index.refresh();
    // The whole-file index of earlier versions is only rebuilt work now.
    if (file === INDEX_FILE && index.ino === 0) await unlink(join(dir, OLD_INDEX_FILE)).catch(() => {});
    return index;
  }

  private apply(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) return;
      const line = text.slice(start, nl);
      this.size += Buffer.byteLength(line) + 1;
      start = nl + 1;
      this.lines++;
      // A long line (a summary) is kept as text and parsed when first asked for:
      // a session that reads a few summaries does not parse 100,000.
      if (line.length > LAZY_LINE && line.startsWith('["')) {
        const q = line.indexOf('",', 2);
        if (q > 2 && line.lastIndexOf('\\', q) < 2) {
          this.entries.set(line.slice(2, q), line);
          continue;
        }
      }
      const e = decode(line);
      if (e) this.entries.set(e[0], e[1]);
    }
  }

  /** Reads what other processes appended since we last looked (all of it after a compaction). */
  async refresh(): Promise<void> {
    const st = await stat(this.path).catch(() => null);
    if (!st) return;
    if (st.ino !== this.ino || st.size < this.size) {
      this.ino = st.ino;
      this.size = 0;
      this.lines = 0;
      this.apply(await readFile(this.path, 'utf8').catch(() => ''));
      return;
    }
    if (st.size === this.size) return;
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(st.size - this.size);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.size);
      this.apply(buf.toString('utf8', 0, bytesRead));
    } finally {
      await fh.close();
    }
  }

  get(base: string, nameSize: number | null): IndexEntry | undefined {
    let e = this.entries.get(base);
    if (typeof e === 'string') {
      const d = decode(e);
      if (!d || d[0] !== base) {
        this.entries.delete(base);
        return undefined;
      }
      e = d[1];
      this.entries.set(base, e);
    }
    if (e && nameSize !== null && e.size !== nameSize) return undefined;
    return e;
  }

  set(base: string, entry: IndexEntry): void {
    this.entries.set(base, entry);
    this.pending.push(encode(base, entry));
  }

  /**
   * Drops the entries of bases not in `live`, once the index holds more than
   * PRUNE_SLACK entries beyond the live count: a base never comes back, so a
   * dead entry is only memory (bounded so: live + PRUNE_SLACK entries), and
   * walking 100,000 entries at every open after an expunge is what a resync
   * of a big folder would pay otherwise.
   */
  prune(live: { has(base: string): boolean; readonly size: number }): void {
    if (this.entries.size <= live.size + PRUNE_SLACK) return;
    for (const base of this.entries.keys()) {
      if (!live.has(base)) {
        this.entries.delete(base);
        this.dropped = true;
      }
    }
  }

  /** Writes what is pending: appended, or the whole file when it is mostly dead lines. */
  async save(): Promise<void> {
    const lines = this.lines + this.pending.length;
    if (this.dropped && lines > 2 * this.entries.size + 1000) return this.compact();
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    const fh = await open(this.path, 'a', 0o600);
    try {
      const st = await fh.stat();
      await fh.write(text);
      // Only our own append follows what we had read: count it as read, else pick it up with the rest.
      if (st.ino === this.ino && st.size === this.size) {
        this.size += Buffer.byteLength(text);
        this.lines += text.split('\n').length - 1;
      } else if (this.ino === 0 && st.size === 0) {
        this.ino = st.ino;
        this.size = Buffer.byteLength(text);
        this.lines = text.split('\n').length - 1;
      }
    } finally {
      await fh.close();
    }
  }

  private async compact(): Promise<void> {
    const parts: string[] = [];
    for (const [base, v] of this.entries) parts.push(typeof v === 'string' ? `${v}\n` : encode(base, v));
    const text = parts.join('');
    this.pending = [];
    this.dropped = false;
    await writeFileAtomic(this.path, text, false);
    const st = await stat(this.path).catch(() => null);
    this.ino = st?.ino ?? 0;
    this.size = st?.size === Buffer.byteLength(text) ? st.size : 0;
    this.lines = parts.length;
  }
}
