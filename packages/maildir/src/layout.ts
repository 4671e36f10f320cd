// Where mail lives on the volume: mail/<domain>/<local>/ is a Maildir++ root
// (INBOX), folders are `.Name` directories beside cur/new/tmp. Names that could
// escape the tree are refused here, before any path is built.
import { join } from 'node:path';

export class MaildirError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid-name' | 'not-found' | 'over-quota' | 'io',
  ) {
    super(message);
    this.name = 'MaildirError';
  }
}

/** A path component that is safe on every file system we run on. */
function safeComponent(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 255 &&
    value !== '.' &&
    value !== '..' &&
    !value.includes('/') &&
    !value.includes('\\') &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
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

/** The directory of a folder: '' or INBOX → the root, `Junk` → `.Junk`, `a.b` → `.a.b`. */
export function folderDir(root: string, folder: string): string {
  if (folder === '' || folder.toUpperCase() === 'INBOX') return root;
  const parts = folder.split('.');
  if (parts.some((p) => !safeComponent(p))) throw new MaildirError('invalid folder name', 'invalid-name');
  return join(root, `.${folder}`);
}
