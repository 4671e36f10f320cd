// IMAP keywords ($Forwarded, $Junk, user words) in Maildir: the info suffix
// has room only for letters, so a per-folder table maps keyword ↔ index, and
// index 0..25 is letter a..z — Dovecot's `dovecot-keywords` file, same format
// (`<index> <keyword>` per line), so folders stay readable by Dovecot.
//
// The table only grows (a letter, once given, keeps its keyword, or files
// already carrying it would change meaning); it is rewritten atomically under
// the folder lock. More than 26 keywords in one folder is refused ('limit').
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, writeFileAtomic } from './fsutil.js';
import { MaildirError } from './layout.js';
import { type LockOptions, withLock } from './lock.js';
import { FOLDER_LOCK_FILE } from './uidlist.js';

export const KEYWORDS_FILE = 'dovecot-keywords';
export const MAX_KEYWORDS = 26;

/** Index → keyword; holes are unused letters. */
export type KeywordTable = (string | undefined)[];

export function parseKeywords(text: string): KeywordTable {
  const table: KeywordTable = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line);
    if (!m) continue;
    const i = Number(m[1]);
    if (i < MAX_KEYWORDS) table[i] = m[2];
  }
  return table;
}

export async function readKeywords(dir: string): Promise<KeywordTable> {
  try {
    return parseKeywords(await readFile(join(dir, KEYWORDS_FILE), 'utf8'));
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** IMAP keywords compare case-insensitively (RFC 9051 §2.3.2 treats flags as case-insensitive atoms). */
export function keywordIndex(table: KeywordTable, keyword: string): number {
  const k = keyword.toLowerCase();
  return table.findIndex((t) => t?.toLowerCase() === k);
}

/** Makes sure every keyword has a letter; returns the table to use. */
export async function ensureKeywords(
  dir: string,
  keywords: string[],
  lock?: LockOptions,
): Promise<KeywordTable> {
  const current = await readKeywords(dir);
  if (keywords.every((k) => keywordIndex(current, k) >= 0)) return current;
  return withLock(
    join(dir, FOLDER_LOCK_FILE),
    async () => {
      const table = await readKeywords(dir);
      let changed = false;
      for (const k of keywords) {
        if (keywordIndex(table, k) >= 0) continue;
        let free = 0;
        while (free < MAX_KEYWORDS && table[free] !== undefined) free++;
        if (free >= MAX_KEYWORDS) throw new MaildirError('too many keywords in this folder', 'limit');
        table[free] = k;
        changed = true;
      }
      if (changed) {
        const text = table.map((k, i) => (k === undefined ? '' : `${i} ${k}\n`)).join('');
        await writeFileAtomic(join(dir, KEYWORDS_FILE), text);
      }
      return table;
    },
    lock,
  );
}
