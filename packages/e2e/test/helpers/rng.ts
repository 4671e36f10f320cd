// Seeded randomness for the chaos and fuzz tests: every run prints its seed,
// and POSTAMT_E2E_SEED=<seed> replays the same choices (timing still varies,
// so a replay reproduces the schedule, not every interleaving).

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast and good enough for test schedules. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]) => items[int(0, items.length - 1)] as T,
    chance: (p: number) => next() < p,
  };
}

/** The seed from POSTAMT_E2E_SEED, or a fresh one; printed either way. */
export function seededRng(what: string): Rng {
  const fromEnv = process.env.POSTAMT_E2E_SEED;
  const seed = fromEnv ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  process.stderr.write(`${what}: seed ${seed} (replay with POSTAMT_E2E_SEED=${seed})\n`);
  return makeRng(seed);
}

export const LONG = process.env.POSTAMT_E2E_LONG === '1';
