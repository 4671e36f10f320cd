// Where mail lives on the volume: mail/<domain>/<local>/ is a Maildir++ root
// (INBOX), folders are `.Name` directories beside cur/new/tmp, hierarchy with
// '.', names stored in modified UTF-7 like Courier and Dovecot do. Names that
// could escape the tree are refused here, before any path is built.
import { join } from 'node:path';
import { encodeMutf7, isWellFormed } from './mutf7.js';

export type MaildirErrorCode =
  | 'invalid-name'
  | 'not-found'
  | 'exists'
  | 'has-children'
  | 'over-quota'
  | 'limit'
  | 'locked'
  | 'io';

/**
 * The one storage error. Protocol layers map `code` to a reply in one place
 * (NO [NONEXISTENT], NO [OVERQUOTA], 452 4.2.2 ...); `message` is for logs only.
 */
export class MaildirError extends Error {
  constructor(
    message: string,
    readonly code: MaildirErrorCode,
  ) {
    super(message);
    this.name = 'MaildirError';
  }
}

/** The hierarchy separator of Maildir++ folder names. */
export const SEPARATOR = '.';
/** Longest folder name we accept, in characters of its on-disk (modified UTF-7) form. */
export const MAX_FOLDER_NAME = 200;

/** A path component that is safe on every file system we run on. */
function safeComponent(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 255 &&
    value !== '.' &&
    value !== '..' &&
    !value.includes('/') &&
    !value.includes('\\') &&
    !/[\u0000-\u001f\u007f]/.test(value)
  );
}

/** The Maildir++ root of a user: mail/<domain>/<local>. `key` is the directory key (lowercase). */
export function userMaildir(dataDir: string, key: string): string {
  const at = key.lastIndexOf('@');
  const local = key.slice(0, at);
  const domain = key.slice(at + 1);
  if (at <= 0 || !safeComponent(local) || !safeComponent(domain) || local.startsWith('.')) {
    throw new MaildirError('address cannot be used as a mail directory', 'invalid-name');
  }
  return join(dataDir, 'mail', domain, local);
}

export function isInbox(folder: string): boolean {
  return folder === '' || folder.toUpperCase() === 'INBOX';
}

/**
 * The on-disk name of a folder (without the leading '.'), or throws
 * 'invalid-name'. `folder` is a Unicode name with '.' as hierarchy separator.
 * Refused: empty components (`a..b`, leading or trailing '.'), '/', '\',
 * control characters, lone surrogates, over-long names.
 */
export function folderDiskName(folder: string): string {
  if (!isWellFormed(folder)) throw new MaildirError('invalid folder name', 'invalid-name');
  const parts = folder.split(SEPARATOR);
  if (parts.some((p) => !safeComponent(p))) throw new MaildirError('invalid folder name', 'invalid-name');
  const disk = encodeMutf7(folder);
  if (disk.length > MAX_FOLDER_NAME) throw new MaildirError('folder name too long', 'invalid-name');
  return disk;
}

/** The directory of a folder: '' or INBOX → the root, `Junk` → `.Junk`, `a.b` → `.a.b`. */
export function folderDir(root: string, folder: string): string {
  if (isInbox(folder)) return root;
  return join(root, `.${folderDiskName(folder)}`);
}
