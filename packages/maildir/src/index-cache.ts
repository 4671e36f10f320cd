// The per-folder cache of what IMAP asks for often: size, internal date and
// an opaque summary (ENVELOPE/BODYSTRUCTURE, computed by an indexer the IMAP
// server injects), so opening or fetching from a 100,000-message folder does
// not read 100,000 files. File `postamt-index.json`.
//
// Keyed by base name: Maildir never rewrites a message file, so what we
// learned about a base stays true for as long as the base exists. Entries of
// vanished bases are pruned; an entry whose size disagrees with the `,S=` in
// the file name is treated as stale. Being a cache, it is written without
// fsync or lock — last writer wins, a lost or corrupt file is rebuilt.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';

export const INDEX_FILE = 'postamt-index.json';

export interface IndexEntry {
  size: number;
  /** Internal date, ms since the epoch. */
  date: number;
  summary?: unknown;
}

type Stored = [number, number] | [number, number, unknown];

export class FolderIndex {
  private dirty = false;
  private constructor(
    private readonly path: string,
    private readonly entries: Map<string, IndexEntry>,
    private mtimeMs: number,
  ) {}

  static async load(dir: string): Promise<FolderIndex> {
    const path = join(dir, INDEX_FILE);
    const entries = new Map<string, IndexEntry>();
    let mtimeMs = 0;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
      const data = JSON.parse(await readFile(path, 'utf8')) as { v: number; e: Record<string, Stored> };
      if (data.v === 1 && data.e && typeof data.e === 'object') {
        for (const [base, s] of Object.entries(data.e)) {
          if (!Array.isArray(s) || typeof s[0] !== 'number' || typeof s[1] !== 'number') continue;
          entries.set(
            base,
            s.length > 2 ? { size: s[0], date: s[1], summary: s[2] } : { size: s[0], date: s[1] },
          );
        }
      }
    } catch {
      // Missing or unreadable: start empty, it is only a cache.
    }
    return new FolderIndex(path, entries, mtimeMs);
  }

  /** True when another process has written the file since we loaded it. */
  async changedOnDisk(): Promise<boolean> {
    const st = await stat(this.path).catch(() => null);
    return (st?.mtimeMs ?? 0) !== this.mtimeMs;
  }

  get(base: string, nameSize: number | null): IndexEntry | undefined {
    const e = this.entries.get(base);
    if (e && nameSize !== null && e.size !== nameSize) return undefined;
    return e;
  }

  set(base: string, entry: IndexEntry): void {
    this.entries.set(base, entry);
    this.dirty = true;
  }

  prune(live: { has(base: string): boolean }): void {
    for (const base of this.entries.keys()) {
      if (!live.has(base)) {
        this.entries.delete(base);
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const e: Record<string, Stored> = {};
    for (const [base, v] of this.entries)
      e[base] = v.summary === undefined ? [v.size, v.date] : [v.size, v.date, v.summary];
    this.dirty = false;
    await writeFileAtomic(this.path, JSON.stringify({ v: 1, e }), false);
    this.mtimeMs = (await stat(this.path).catch(() => null))?.mtimeMs ?? 0;
  }
}
