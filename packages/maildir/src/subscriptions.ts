// The subscriptions file of Courier and Dovecot Maildir++: `subscriptions`
// in the user's root, one modified-UTF-7 folder name per line. Replaced
// atomically under the root lock. Subscriptions are independent of whether
// the folder exists (RFC 9051 §6.3.7).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, writeFileAtomic } from './fsutil.js';
import { folderDiskName, isInbox } from './layout.js';
import { type LockOptions, withLock } from './lock.js';
import { decodeMutf7 } from './mutf7.js';

export const SUBSCRIPTIONS_FILE = 'subscriptions';
export const ROOT_LOCK_FILE = 'postamt-folders.lock';

export async function readSubscriptions(root: string): Promise<Set<string>> {
  let text = '';
  try {
    text = await readFile(join(root, SUBSCRIPTIONS_FILE), 'utf8');
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.trim() ? decodeMutf7(line.trim()) : null;
    if (name !== null) out.add(isInbox(name) ? 'INBOX' : name);
  }
  return out;
}

/** Adds and removes names in one locked rewrite. Names must already be validated. */
export async function updateSubscriptions(
  root: string,
  change: { add?: string[]; remove?: string[] },
  lock?: LockOptions,
): Promise<void> {
  await withLock(
    join(root, ROOT_LOCK_FILE),
    async () => {
      const subs = await readSubscriptions(root);
      for (const n of change.remove ?? []) subs.delete(n);
      for (const n of change.add ?? []) subs.add(n);
      const lines = [...subs].map((n) => `${isInbox(n) ? 'INBOX' : folderDiskName(n)}\n`).join('');
      await writeFileAtomic(join(root, SUBSCRIPTIONS_FILE), lines);
    },
    lock,
  );
}
