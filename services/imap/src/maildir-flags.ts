// IMAP flags ↔ Maildir info letters (`:2,` suffix, maildir(5)): D Draft,
// F Flagged, R Replied (\Answered), S Seen, T Trashed (\Deleted). Keywords
// are kept in the UID list by the interim store.
const TO_LETTER: Record<string, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};
const FROM_LETTER = new Map(Object.entries(TO_LETTER).map(([f, l]) => [l, f]));

export function lettersToFlags(letters: string): string[] {
  const out: string[] = [];
  for (const l of letters) {
    const f = FROM_LETTER.get(l);
    if (f) out.push(f);
  }
  return out;
}

/** Letters in ASCII order, as maildir(5) requires. */
export function flagsToLetters(flags: readonly string[]): string {
  return [...new Set(flags.map((f) => TO_LETTER[f]).filter((l): l is string => Boolean(l)))].sort().join('');
}

export const isSystemFlag = (f: string): boolean => f.startsWith('\\');
