// The pregreet memory (packages/smtp-server pregreet.ts) shared through Redis,
// so a client that passed the wait on one intake replica is greeted at once by
// the others. Memory first; Redis behind it with a short deadline: if Redis is
// slow or down, the client is simply treated as unknown and waits once more.
import { MemoryPassedClients, type PassedClientStore } from '@postamt/smtp-server';

interface RedisLike {
  exists(key: string): Promise<number>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
}

const KEY = 'postamt:pregreet:passed:';

export class RedisPassedClients implements PassedClientStore {
  private readonly memory: MemoryPassedClients;

  constructor(
    private readonly redis: RedisLike,
    private readonly ttlMs: number,
    private readonly deadlineMs = 200,
  ) {
    this.memory = new MemoryPassedClients(ttlMs);
  }

  async has(ip: string): Promise<boolean> {
    if (this.memory.has(ip)) return true;
    let timer: NodeJS.Timeout | undefined;
    const found = await Promise.race([
      this.redis.exists(KEY + ip).then((n) => n > 0),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.deadlineMs);
      }),
    ])
      .catch(() => false)
      .finally(() => clearTimeout(timer));
    if (found) this.memory.add(ip);
    return found;
  }

  add(ip: string): void {
    this.memory.add(ip);
    this.redis.set(KEY + ip, '1', 'PX', this.ttlMs).catch(() => {});
  }
}
