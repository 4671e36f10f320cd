// Folder operations on a Maildir++ root: every folder is a `.Name` directory
// (name in modified UTF-7, hierarchy with '.'), INBOX is the root itself.
//
// - create: build the folder under a temporary name, then rename it into
//   place — atomic, so nobody sees a folder without cur/new/tmp, and two
//   creators race cleanly (one gets 'exists').
// - delete: rename to a `postamt-trash.*` name first (instantly gone from
//   listings, like Dovecot's DOVECOT-TRASHED), then remove the tree. The
//   children stay (RFC 3501 §6.3.4): Maildir++ keeps no directory for a mere
//   name, so a parent without its own `.Name` is implied by its children and
//   listed \Noselect (listFolderTree), as Dovecot does; it vanishes with them.
// - rename: the folder, then each hierarchy child. The UID list moves with
//   the directory, so UIDs and UIDVALIDITY survive; a new folder created
//   under the old name later gets a fresh, larger UIDVALIDITY.
// Folder-level changes take the root lock, so two processes renaming or
// deleting at once do not interleave.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureMaildir } from './deliver.js';
import { fsyncDir, isMissing, uniqueToken } from './fsutil.js';
import { folderDiskName, isInbox, MaildirError, SEPARATOR } from './layout.js';
import { type LockOptions, withLock } from './lock.js';
import { decodeMutf7 } from './mutf7.js';
import { ROOT_LOCK_FILE } from './subscriptions.js';
import type { SpecialUse } from './types.js';

/** RFC 6154 special-use folders, created on first use. */
export const SPECIAL_USE: Readonly<Record<string, SpecialUse>> = {
  Sent: '\\Sent',
  Drafts: '\\Drafts',
  Junk: '\\Junk',
  Trash: '\\Trash',
  Archive: '\\Archive',
};

const TRASH_PREFIX = 'postamt-trash.';

/** Existing folder names (decoded), without INBOX. Directories whose names are not canonical modified UTF-7 are ignored. */
export async function listFolderNames(root: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const out: string[] = [];
  for (const ent of entries) {
    if (!ent.isDirectory() || !ent.name.startsWith('.') || ent.name === '.' || ent.name === '..') continue;
    const name = decodeMutf7(ent.name.slice(1));
    if (name?.split(SEPARATOR).every((p) => p.length > 0)) out.push(name);
  }
  return out.sort();
}

export interface FolderNode {
  name: string;
  /** Only implied by its children: no messages, cannot be selected (RFC 3501 §6.3.4, \Noselect). */
  noselect: boolean;
  hasChildren: boolean;
}

/** Every folder name (without INBOX) and every parent its children imply, sorted. */
export async function listFolderTree(root: string): Promise<FolderNode[]> {
  const names = await listFolderNames(root);
  const real = new Set(names);
  const all = new Set(names);
  for (const n of names) {
    const parts = n.split(SEPARATOR);
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join(SEPARATOR));
  }
  const parents = new Set<string>();
  for (const n of all) {
    const dot = n.lastIndexOf(SEPARATOR);
    if (dot > 0) parents.add(n.slice(0, dot));
  }
  return [...all]
    .filter((name) => !isInbox(name))
    .sort()
    .map((name) => ({ name, noselect: !real.has(name), hasChildren: parents.has(name) }));
}

export async function folderExists(root: string, name: string): Promise<boolean> {
  if (isInbox(name)) return true;
  return (await stat(join(root, `.${folderDiskName(name)}`)).catch(() => null))?.isDirectory() ?? false;
}

/** Creates one folder directory atomically; false if it already existed. */
async function createOne(root: string, disk: string): Promise<boolean> {
  const target = join(root, `.${disk}`);
  if (await stat(target).catch(() => null)) return false;
  const building = join(root, `postamt-new.${uniqueToken()}`);
  await ensureMaildir(building);
  // Maildir++: marks a folder, so delivery agents never treat it as a root.
  await writeFile(join(building, 'maildirfolder'), '');
  try {
    await rename(building, target);
  } catch (e) {
    await rm(building, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw e;
  }
  await fsyncDir(root);
  return true;
}

/** Creates `name` and any missing parents. Throws 'exists' if `name` itself existed, unless `ifMissing`. */
export async function createFolder(root: string, name: string, ifMissing = false): Promise<void> {
  if (isInbox(name)) {
    if (ifMissing) return;
    throw new MaildirError('INBOX always exists', 'exists');
  }
  const disk = folderDiskName(name);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await ensureMaildir(root);
  const parts = name.split(SEPARATOR);
  for (let i = 1; i < parts.length; i++)
    await createOne(root, folderDiskName(parts.slice(0, i).join(SEPARATOR)));
  if (!(await createOne(root, disk)) && !ifMissing) throw new MaildirError('folder exists', 'exists');
}

export async function deleteFolder(root: string, name: string, lock?: LockOptions): Promise<void> {
  if (isInbox(name)) throw new MaildirError('INBOX cannot be deleted', 'invalid-name');
  const disk = folderDiskName(name);
  await withLock(
    join(root, ROOT_LOCK_FILE),
    async () => {
      const names = await listFolderNames(root);
      if (!names.includes(name)) {
        // RFC 3501 §6.3.4: a \Noselect name with inferiors cannot be deleted.
        if (names.some((n) => n.startsWith(`${name}${SEPARATOR}`)))
          throw new MaildirError('folder has children', 'has-children');
        throw new MaildirError('no such folder', 'not-found');
      }
      const trash = join(root, `${TRASH_PREFIX}${uniqueToken()}`);
      await rename(join(root, `.${disk}`), trash);
      await fsyncDir(root);
      await rm(trash, { recursive: true, force: true });
    },
    lock,
  );
}

/** Leftovers of a crash during delete or create. */
export async function removeLeftovers(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(TRASH_PREFIX) && !n.startsWith('postamt-new.')) continue;
    const st = await stat(join(root, n)).catch(() => null);
    // A create in progress lives a few milliseconds; an hour-old one is a crash's.
    if (n.startsWith(TRASH_PREFIX) || (st && Date.now() - st.mtimeMs > 3600_000))
      await rm(join(root, n), { recursive: true, force: true }).catch(() => {});
  }
}

/** Renames a folder and its children. Returns the [old, new] names renamed. */
export async function renameFolder(
  root: string,
  from: string,
  to: string,
  lock?: LockOptions,
): Promise<[string, string][]> {
  if (isInbox(from) || isInbox(to)) throw new MaildirError('use moveInbox for INBOX', 'invalid-name');
  folderDiskName(from);
  folderDiskName(to);
  if (to === from || to.startsWith(`${from}${SEPARATOR}`))
    throw new MaildirError('cannot rename a folder into itself', 'invalid-name');
  return withLock(
    join(root, ROOT_LOCK_FILE),
    async () => {
      const names = await listFolderNames(root);
      // A \Noselect name (only its children exist) is renamed by renaming them (RFC 3501 §6.3.5).
      const moves: [string, string][] = names.includes(from) ? [[from, to]] : [];
      for (const n of names)
        if (n.startsWith(`${from}${SEPARATOR}`)) moves.push([n, `${to}${n.slice(from.length)}`]);
      if (moves.length === 0) throw new MaildirError('no such folder', 'not-found');
      // rename(2) would replace an empty directory and fail half-way on a full one: check every target first.
      if (names.includes(to) || moves.some(([, n]) => names.includes(n)))
        throw new MaildirError('target folder exists', 'exists');
      for (const [, n] of moves) folderDiskName(n); // a child's new name may become too long
      const parts = to.split(SEPARATOR);
      for (let i = 1; i < parts.length; i++)
        await createOne(root, folderDiskName(parts.slice(0, i).join(SEPARATOR)));
      for (const [a, b] of moves)
        await rename(join(root, `.${folderDiskName(a)}`), join(root, `.${folderDiskName(b)}`));
      await fsyncDir(root);
      return moves;
    },
    lock,
  );
}
