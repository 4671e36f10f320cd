// Early-talker (pregreet) detection without taxing everyone, as postscreen
// does: a client we have not seen pass recently waits a short while for the
// greeting, and one that talks during that wait is a bot (RFC 5321 §3.1: the
// client waits for the 220). A client that passed is remembered and later gets
// the greeting at once. Always, whoever it is, input already waiting when the
// greeting is sent counts as talking too soon.
// The memory is in-process; PassedClientStore lets the intake add a shared one
// (Redis) so replicas learn from each other.

export interface PassedClientStore {
  has(ip: string): boolean | Promise<boolean>;
  add(ip: string): void;
}

/** Remembers passed clients for `ttlMs`, at most `max` of them (oldest forgotten first). */
export class MemoryPassedClients implements PassedClientStore {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(ip: string): boolean {
    const at = this.seen.get(ip);
    if (at === undefined) return false;
    if (this.now() - at < this.ttlMs) return true;
    this.seen.delete(ip);
    return false;
  }

  add(ip: string): void {
    this.seen.delete(ip); // re-insert: Map order is age order
    this.seen.set(ip, this.now());
    if (this.seen.size > this.max) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
