// Per-user quota, Maildir++ style: `maildirsize` in the user's root holds the
// limit on its first line (`<bytes>S,<count>C`) and then one `<bytes> <count>`
// line per change, appended with O_APPEND (one small write, so concurrent
// writers do not interleave). The sum of the lines is the usage. The file is
// recalculated from the folders (and replaced atomically) when it is missing,
// when the limit changed, or when it has grown past 5120 bytes — the Maildir++
// rule that keeps it short. The count is approximate under races, by design
// of Maildir++; it only decides whether the next delivery is accepted.
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, mapLimit, writeFileAtomic } from './fsutil.js';
import { MaildirError } from './layout.js';
import { parseName } from './list.js';

export const MAILDIRSIZE_FILE = 'maildirsize';
const MAX_FILE_SIZE = 5120;

/** 0 or absent means no limit. */
export interface QuotaLimit {
  bytes?: number;
  messages?: number;
}

export interface QuotaUsage {
  bytes: number;
  messages: number;
}

export function hasLimit(limit: QuotaLimit | undefined): limit is QuotaLimit {
  return !!limit && ((limit.bytes ?? 0) > 0 || (limit.messages ?? 0) > 0);
}

function header(limit: QuotaLimit): string {
  const parts: string[] = [];
  if ((limit.bytes ?? 0) > 0) parts.push(`${limit.bytes}S`);
  if ((limit.messages ?? 0) > 0) parts.push(`${limit.messages}C`);
  return parts.join(',');
}

async function folderDirs(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return [
    root,
    ...names.filter((n) => n.startsWith('.') && n !== '.' && n !== '..').map((n) => join(root, n)),
  ];
}

/** Counts every message of every folder (the slow path, needed only when the file is missing or long). */
export async function recalculate(root: string): Promise<QuotaUsage> {
  const usage = { bytes: 0, messages: 0 };
  for (const dir of await folderDirs(root)) {
    for (const sub of ['new', 'cur']) {
      const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
      const sizes = await mapLimit(
        names.filter((n) => !n.startsWith('.')),
        16,
        async (n) => parseName(n).size ?? (await stat(join(dir, sub, n)).catch(() => null))?.size ?? null,
      );
      for (const s of sizes) {
        if (s === null) continue;
        usage.bytes += s;
        usage.messages++;
      }
    }
  }
  return usage;
}

export async function quotaUsage(root: string, limit: QuotaLimit): Promise<QuotaUsage> {
  const path = join(root, MAILDIRSIZE_FILE);
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  if (text !== null && text.length <= MAX_FILE_SIZE) {
    const lines = text.split('\n');
    if (lines[0] === header(limit)) {
      const usage = { bytes: 0, messages: 0 };
      for (const line of lines.slice(1)) {
        const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
        if (!m) continue; // a line being appended right now
        usage.bytes += Number(m[1]);
        usage.messages += Number(m[2]);
      }
      return usage;
    }
  }
  const usage = await recalculate(root);
  await writeFileAtomic(path, `${header(limit)}\n${usage.bytes} ${usage.messages}\n`, false).catch(() => {});
  return usage;
}

/** Throws MaildirError 'over-quota' if adding `bytes`/`messages` would exceed the limit. */
export async function checkQuota(root: string, limit: QuotaLimit | undefined, bytes: number, messages = 1) {
  if (!hasLimit(limit)) return;
  const usage = await quotaUsage(root, limit);
  if ((limit.bytes ?? 0) > 0 && usage.bytes + bytes > (limit.bytes as number))
    throw new MaildirError('mailbox is over its storage quota', 'over-quota');
  if ((limit.messages ?? 0) > 0 && usage.messages + messages > (limit.messages as number))
    throw new MaildirError('mailbox is over its message quota', 'over-quota');
}

/** Records a change; a no-op when the user has no maildirsize yet (the next check recalculates). */
export async function recordQuota(root: string, bytes: number, messages: number): Promise<void> {
  if (bytes === 0 && messages === 0) return;
  const path = join(root, MAILDIRSIZE_FILE);
  // Only append to an existing file: appending would otherwise create one without a header.
  if (!(await stat(path).catch(() => null))) return;
  await appendFile(path, `${bytes} ${messages}\n`).catch(() => {});
}

/** Bytes and messages of one folder (for quota bookkeeping when it is deleted). */
export async function folderUsage(dir: string): Promise<QuotaUsage> {
  const usage = { bytes: 0, messages: 0 };
  for (const sub of ['new', 'cur']) {
    for (const n of await readdir(join(dir, sub)).catch(() => [] as string[])) {
      if (n.startsWith('.')) continue;
      const s = parseName(n).size ?? (await stat(join(dir, sub, n)).catch(() => null))?.size;
      if (s === undefined) continue;
      usage.bytes += s;
      usage.messages++;
    }
  }
  return usage;
}
