// The per-folder UID list (Dovecot's dovecot-uidlist idea), the only place
// UIDs live. File `postamt-uidlist`:
//
//   postamt-uidlist 1 <UIDVALIDITY> <next UID>\n
//   <uid> <base name>\n            one line per message, UIDs ascending
//
// Invariants (RFC 9051 §2.3.1.1): UIDs are strictly ascending in the order
// they were assigned and never reused, so the next UID only grows; UIDVALIDITY
// changes only when the list is lost or unreadable and must be rebuilt. The
// file is replaced atomically (tmp + fsync + rename) under the folder lock, so
// a reader without the lock always sees one complete version.
import { readFile } from 'node:fs/promises';
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

export function parseUidList(text: string): UidList | null {
  if (!text.endsWith('\n')) return null; // truncated
  const lines = text.split('\n');
  lines.pop();
  const head = /^postamt-uidlist 1 (\d+) (\d+)$/.exec(lines[0] ?? '');
  if (!head) return null;
  const list: UidList = { uidValidity: Number(head[1]), nextUid: Number(head[2]), uids: new Map() };
  if (list.uidValidity < 1 || list.nextUid < 1) return null;
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const sp = line.indexOf(' ');
    const uid = Number(line.slice(0, sp));
    const base = line.slice(sp + 1);
    if (sp <= 0 || !Number.isSafeInteger(uid) || uid <= last || uid >= list.nextUid || !base) return null;
    if (list.uids.has(base)) return null;
    list.uids.set(base, uid);
    last = uid;
  }
  return list;
}

export function serializeUidList(list: UidList): string {
  const parts = [`postamt-uidlist 1 ${list.uidValidity} ${list.nextUid}\n`];
  for (const [base, uid] of list.uids) parts.push(`${uid} ${base}\n`);
  return parts.join('');
}

export interface ReadResult {
  list: UidList | null;
  /** True when a file existed but could not be parsed (it will be rebuilt). */
  corrupt: boolean;
}

export async function readUidList(dir: string): Promise<ReadResult> {
  try {
    const list = parseUidList(await readFile(join(dir, UIDLIST_FILE), 'utf8'));
    return { list, corrupt: list === null };
  } catch (e) {
    if (isMissing(e)) return { list: null, corrupt: false };
    throw e;
  }
}

export async function writeUidList(dir: string, list: UidList): Promise<void> {
  await writeFileAtomic(join(dir, UIDLIST_FILE), serializeUidList(list));
}

/** A fresh UIDVALIDITY: the clock in seconds, so a rebuilt list gets a larger value than the lost one. */
export function newUidValidity(previous = 0): number {
  return Math.max(Math.floor(Date.now() / 1000), previous + 1);
}
