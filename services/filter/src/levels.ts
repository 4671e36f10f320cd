// Spam levels per domain and per user, like amavisd's per-recipient
// tag/tag2/kill: POSTAMT_SPAM_LEVELS="example.test=tag2:4,kill:15; ceo@example.test=tag2:3".
// An address entry wins over its domain's, which wins over the global levels.
import type { Levels } from './verdict.js';

export type LevelOverride = Partial<Pick<Levels, 'tag' | 'tag2' | 'kill'>>;
export type LevelOverrides = Record<string, LevelOverride>;

/** Parses the POSTAMT_SPAM_LEVELS syntax; returns a reason for the operator on error. */
export function parseLevelOverrides(text: string): LevelOverrides | { error: string } {
  const out: LevelOverrides = {};
  for (const entry of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const who = entry.slice(0, eq).trim().toLowerCase();
    if (eq <= 0 || !/^[^\s@]*@?[a-z0-9.-]+$/.test(who)) return { error: `bad recipient in "${entry}"` };
    const o: LevelOverride = {};
    for (const pair of entry.slice(eq + 1).split(',')) {
      const m = /^\s*(tag|tag2|kill)\s*:\s*(-?\d+(?:\.\d+)?)\s*$/.exec(pair);
      if (!m)
        return { error: `bad level "${pair.trim()}" for ${who} (expected tag, tag2 or kill, e.g. tag2:4.5)` };
      o[m[1] as 'tag' | 'tag2' | 'kill'] = Number(m[2]);
    }
    out[who] = o;
  }
  return out;
}

export function levelsFor(levels: Levels, overrides: LevelOverrides, userKey: string): Levels {
  const domain = userKey.slice(userKey.lastIndexOf('@') + 1);
  return { ...levels, ...overrides[domain], ...overrides[userKey] };
}

/** Levels that break tag ≤ tag2 ≤ kill once merged, for the config check. */
export function invalidOverrides(
  levels: Pick<Levels, 'tag' | 'tag2' | 'kill'>,
  overrides: LevelOverrides,
): string[] {
  return Object.entries(overrides)
    .filter(([who]) => {
      const domain = who.includes('@') ? overrides[who.slice(who.lastIndexOf('@') + 1)] : undefined;
      const l = { ...levels, ...domain, ...overrides[who] };
      return !(l.tag <= l.tag2 && l.tag2 <= l.kill);
    })
    .map(([who]) => who);
}
