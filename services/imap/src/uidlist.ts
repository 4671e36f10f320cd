// Interim per-folder UID list (until @postamt/maildir ships its own): maps
// each message's stable base name to a UID, with UIDVALIDITY and the next
// UID, persisted in `postamt-uidlist` and changed only under a lock file, so
// every process sharing the volume agrees on UIDs (RFC 3501 §2.3.1.1: UIDs
// strictly ascend and are never reused within one UIDVALIDITY).
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listMessages, type MessageFile } from '@postamt/maildir';
import { StoreError } from './store.js';

export interface UidEntry {
  uid: number;
  base: string;
  keywords: string[];
}

export interface UidList {
  uidValidity: number;
  uidNext: number;
  entries: UidEntry[];
}

export interface Listed extends UidEntry {
  file: MessageFile;
}

const FILE = 'postamt-uidlist';
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

async function readList(dir: string): Promise<UidList | null> {
  const text = await readFile(join(dir, FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  const [head, ...lines] = text.split('\n');
  const m = /^1 (\d+) (\d+)$/.exec(head ?? '');
  if (!m) return null;
  const entries: UidEntry[] = [];
  for (const line of lines) {
    if (!line) continue;
    const [uid, base, ...keywords] = line.split(' ');
    if (uid && base) entries.push({ uid: Number(uid), base, keywords });
  }
  return { uidValidity: Number(m[1]), uidNext: Number(m[2]), entries };
}

async function writeList(dir: string, list: UidList): Promise<void> {
  const lines = [`1 ${list.uidValidity} ${list.uidNext}`];
  for (const e of list.entries) lines.push([e.uid, e.base, ...e.keywords].join(' '));
  const tmp = join(dir, `${FILE}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${lines.join('\n')}\n`);
  await rename(tmp, join(dir, FILE));
}

async function lock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, `${FILE}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.close();
      return () => unlink(path).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError('nonexistent', 'no folder');
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await unlink(path).catch(() => {});
      if (Date.now() > deadline) throw new StoreError('in-use', 'uid list locked');
      await sleep(5 + Math.random() * 10);
    }
  }
}

/**
 * Runs `fn` under the folder's lock on a list reconciled with the files on
 * disk: vanished messages dropped, new ones numbered in arrival order.
 * `fn` may add entries (copy/append assign UIDs in the order given).
 */
export async function withUidList<T>(
  dir: string,
  fn: (list: UidList, files: Map<string, MessageFile>) => Promise<T> | T,
): Promise<{ result: T; listed: Listed[]; list: UidList }> {
  const unlock = await lock(dir);
  try {
    const list = (await readList(dir)) ?? {
      uidValidity: Math.floor(Date.now() / 1000),
      uidNext: 1,
      entries: [],
    };
    const reconcile = async () => {
      const files = new Map((await listMessages(dir)).map((f) => [f.base, f]));
      list.entries = list.entries.filter((e) => files.has(e.base));
      const known = new Set(list.entries.map((e) => e.base));
      for (const base of files.keys()) {
        if (!known.has(base)) list.entries.push({ uid: list.uidNext++, base, keywords: [] });
      }
      return files;
    };
    const before = await reconcile();
    const result = await fn(list, before);
    const files = await reconcile();
    await writeList(dir, list);
    const listed = list.entries.map((e) => ({ ...e, file: files.get(e.base) as MessageFile }));
    return { result, listed, list };
  } finally {
    await unlock();
  }
}
