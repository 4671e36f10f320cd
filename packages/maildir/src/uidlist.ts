// The per-folder UID list (Dovecot's dovecot-uidlist idea), the only place
// UIDs live. File `postamt-uidlist`, append-only between compactions:
//
//   postamt-uidlist 2 <UIDVALIDITY> <next UID>\n    header (v1 files are read too)
//   <uid> <base name>\n                              a UID given out
//   -<uid>\n                                         that UID's file is gone
//
// Invariants (RFC 9051 §2.3.1.1): UIDs are given out strictly ascending and
// never reused, so the next UID only grows (it is the larger of the header's
// and the last given out + 1); UIDVALIDITY changes only when the list is lost
// or unreadable and must be rebuilt. Every change is made under the folder
// lock: new lines are appended and fsynced (a change costs its own size, not
// the folder's — 100,000 messages no longer mean 5 MB per delivery), and the
// file is compacted (tmp + fsync + rename) when dead lines outnumber live
// ones. A reader without the lock may see a half-written last line: it is
// ignored (that change is not visible yet). A writer that finds one under the
// lock knows its writer crashed, and compacts instead of appending after it.
//
// Readers keep the parsed list per file (inode + size): an unchanged file is
// not read again, a grown one only from where the last read stopped.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, writeFileAtomic } from './fsutil.js';

export const UIDLIST_FILE = 'postamt-uidlist';
export const FOLDER_LOCK_FILE = 'postamt-uidlist.lock';

export interface UidList {
  uidValidity: number;
  nextUid: number;
  /** base name → UID, in ascending UID order. */
  uids: Map<string, number>;
}

/** A parsed list and what is needed to go on reading the file where it stopped. */
interface Parsed {
  list: UidList;
  /** UID → base, built only when a removal line needs it (most files have few). */
  byUid: Map<number, string> | null;
  /** Highest UID given out so far (0 if none). */
  last: number;
  /** Record lines in the file (compaction is due when they far outnumber live UIDs). */
  records: number;
  /** Bytes consumed: complete lines only. */
  size: number;
  /** A half-written last line was seen (and ignored). */
  partial: boolean;
}

const HEAD = /^postamt-uidlist [12] (\d+) (\d+)$/;

/** Applies the complete lines of `text` to `p` (mutated); false when a line breaks the invariants. */
function applyLines(p: Parsed, text: string): boolean {
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      p.partial = start < text.length;
      return true;
    }
    const line = text.slice(start, nl);
    start = nl + 1;
    p.size += Buffer.byteLength(line) + 1;
    p.records++;
    if (line.startsWith('-')) {
      const uid = Number(line.slice(1));
      if (!p.byUid) {
        p.byUid = new Map();
        for (const [b, u] of p.list.uids) p.byUid.set(u, b);
      }
      const base = p.byUid.get(uid);
      if (base === undefined) return false;
      p.byUid.delete(uid);
      p.list.uids.delete(base);
      continue;
    }
    const sp = line.indexOf(' ');
    const uid = Number(line.slice(0, sp));
    const base = line.slice(sp + 1);
    if (sp <= 0 || !Number.isSafeInteger(uid) || uid <= p.last || !base) return false;
    if (p.list.uids.has(base)) return false;
    p.list.uids.set(base, uid);
    p.byUid?.set(uid, base);
    p.last = uid;
    if (uid >= p.list.nextUid) p.list.nextUid = uid + 1;
  }
}

function parse(text: string): Parsed | null {
  const nl = text.indexOf('\n');
  const head = HEAD.exec(nl < 0 ? '' : text.slice(0, nl));
  if (!head) return null;
  const list: UidList = { uidValidity: Number(head[1]), nextUid: Number(head[2]), uids: new Map() };
  if (list.uidValidity < 1 || list.nextUid < 1) return null;
  const p: Parsed = { list, byUid: null, last: 0, records: 0, size: nl + 1, partial: false };
  return applyLines(p, text.slice(nl + 1)) ? p : null;
}

/** Parses a whole list file; a half-written last line is ignored. */
export function parseUidList(text: string): UidList | null {
  return parse(text)?.list ?? null;
}

export function serializeUidList(list: UidList): string {
  const parts = [`postamt-uidlist 2 ${list.uidValidity} ${list.nextUid}\n`];
  for (const [base, uid] of list.uids) parts.push(`${uid} ${base}\n`);
  return parts.join('');
}

export interface ReadResult {
  list: UidList | null;
  /** True when a file existed but could not be parsed (it will be rebuilt). */
  corrupt: boolean;
  /** The file ends in a half-written line, or has many dead lines: the next write should compact. */
  compact?: boolean;
}

interface Cached {
  ino: number;
  p: Parsed;
}

/** Per folder directory; entries are replaced, never mutated, so a returned list stays as it was. */
const cache = new Map<string, Cached>();
const CACHE_MAX = 2000;

function clone(p: Parsed): Parsed {
  return {
    ...p,
    list: { ...p.list, uids: new Map(p.list.uids) },
    byUid: p.byUid && new Map(p.byUid),
  };
}

function result(p: Parsed): ReadResult {
  const compact = p.partial || p.records > 2 * p.list.uids.size + 1000;
  return { list: p.list, corrupt: false, compact };
}

async function readTail(path: string, from: number, to: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function readUidList(dir: string): Promise<ReadResult> {
  const path = join(dir, UIDLIST_FILE);
  try {
    const st = await stat(path);
    const hit = cache.get(dir);
    if (hit && hit.ino === st.ino) {
      if (hit.p.size === st.size) return result(hit.p);
      if (st.size > hit.p.size) {
        const next = clone(hit.p);
        if (applyLines(next, await readTail(path, hit.p.size, st.size))) {
          cache.set(dir, { ino: st.ino, p: next });
          return result(next);
        }
      }
    }
    const p = parse(await readFile(path, 'utf8'));
    if (!p) {
      cache.delete(dir);
      return { list: null, corrupt: true };
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(dir, { ino: st.ino, p });
    return result(p);
  } catch (e) {
    if (isMissing(e)) {
      cache.delete(dir);
      return { list: null, corrupt: false };
    }
    throw e;
  }
}

/** Replaces the whole file (first write, rebuild, compaction). Caller holds the folder lock. */
export async function writeUidList(dir: string, list: UidList): Promise<void> {
  cache.delete(dir);
  await writeFileAtomic(join(dir, UIDLIST_FILE), serializeUidList(list));
}

/**
 * Appends given-out and dropped UIDs and fsyncs. Caller holds the folder lock
 * and has read a complete file. With `result` (the list as it is after the
 * append), the reader cache takes it as is instead of reading the new lines
 * back and copying the list again.
 */
export async function appendUidList(
  dir: string,
  added: ReadonlyArray<readonly [string, number]>,
  removed: readonly number[],
  result?: UidList,
): Promise<void> {
  const text = [...removed.map((uid) => `-${uid}\n`), ...added.map(([base, uid]) => `${uid} ${base}\n`)].join(
    '',
  );
  if (!text) return;
  const fh = await open(join(dir, UIDLIST_FILE), 'a', 0o600);
  try {
    const st = await fh.stat();
    await fh.write(text);
    await fh.sync();
    const hit = cache.get(dir);
    if (result && hit && hit.ino === st.ino && hit.p.size === st.size && !hit.p.partial) {
      const last = added.length > 0 ? (added[added.length - 1]?.[1] as number) : hit.p.last;
      cache.set(dir, {
        ino: st.ino,
        p: {
          list: result,
          byUid: null,
          last,
          records: hit.p.records + added.length + removed.length,
          size: st.size + Buffer.byteLength(text),
          partial: false,
        },
      });
    } else cache.delete(dir);
  } finally {
    await fh.close();
  }
}

/** A fresh UIDVALIDITY: the clock in seconds, so a rebuilt list gets a larger value than the lost one. */
export function newUidValidity(previous = 0): number {
  return Math.max(Math.floor(Date.now() / 1000), previous + 1);
}
