// IMAP flags ↔ Maildir info letters (the `:2,` suffix, letters in ASCII
// order per the Maildir spec). System flags have fixed uppercase letters;
// keywords get lowercase letters from the folder's keyword table. Uppercase
// letters with no IMAP meaning (P = passed) are kept across flag changes.

import { type KeywordTable, keywordIndex } from './keywords.js';
import { MaildirError } from './layout.js';

export const SYSTEM_FLAGS: Readonly<Record<string, string>> = {
  '\\Seen': 'S',
  '\\Answered': 'R',
  '\\Flagged': 'F',
  '\\Deleted': 'T',
  '\\Draft': 'D',
};
const BY_LETTER = new Map(Object.entries(SYSTEM_FLAGS).map(([f, l]) => [l, f]));
const BY_LOWER = new Map(Object.keys(SYSTEM_FLAGS).map((f) => [f.toLowerCase(), f]));

// RFC 9051 §9 flag-keyword = atom: no atom-specials.
const ATOM_SPECIALS = /[(){ %*"\\\]\u0000-\u001f\u007f-\uffff]/;

export type FlagOp = 'set' | 'add' | 'remove';

/** The canonical spelling of a flag, or throws 'invalid-name' (\Recent and unknown \-flags are not settable). */
export function normalizeFlag(flag: string): string {
  if (flag.startsWith('\\')) {
    const sys = BY_LOWER.get(flag.toLowerCase());
    if (!sys) throw new MaildirError('unknown system flag', 'invalid-name');
    return sys;
  }
  if (flag.length === 0 || flag.length > 100 || ATOM_SPECIALS.test(flag))
    throw new MaildirError('invalid keyword', 'invalid-name');
  return flag;
}

export function isKeyword(flag: string): boolean {
  return !flag.startsWith('\\');
}

/** IMAP flags of a file's info letters. */
export function lettersToFlags(letters: string, keywords: KeywordTable): string[] {
  const out: string[] = [];
  for (const ch of letters) {
    const sys = BY_LETTER.get(ch);
    if (sys) out.push(sys);
    else if (ch >= 'a' && ch <= 'z') {
      const k = keywords[ch.charCodeAt(0) - 97];
      if (k) out.push(k);
    }
  }
  return out;
}

/** Info letters for `flags`; every keyword must already be in `keywords` (see ensureKeywords). */
export function flagsToLetters(flags: readonly string[], keywords: KeywordTable, keep = ''): string {
  const letters = new Set<string>();
  for (const ch of keep) if (ch >= 'A' && ch <= 'Z' && !BY_LETTER.has(ch)) letters.add(ch);
  for (const f of flags) {
    const sys = SYSTEM_FLAGS[f];
    if (sys) {
      letters.add(sys);
      continue;
    }
    const i = keywordIndex(keywords, f);
    if (i < 0) throw new MaildirError(`keyword ${f} has no letter`, 'io');
    letters.add(String.fromCharCode(97 + i));
  }
  return [...letters].sort().join('');
}

/** Applies an IMAP STORE operation to a flag list. */
export function applyFlagOp(current: readonly string[], op: FlagOp, flags: readonly string[]): string[] {
  const lower = (f: string) => f.toLowerCase();
  if (op === 'set') return dedupe(flags);
  if (op === 'add') return dedupe([...current, ...flags]);
  const drop = new Set(flags.map(lower));
  return current.filter((f) => !drop.has(lower(f)));

  function dedupe(list: readonly string[]): string[] {
    const seen = new Set<string>();
    return list.filter((f) => {
      if (seen.has(lower(f))) return false;
      seen.add(lower(f));
      return true;
    });
  }
}
