// Redis connections. BullMQ workers need `maxRetriesPerRequest: null` (they
// block); producers on the SMTP path must fail fast instead of queueing commands
// while Redis is away, so intake can answer 451 rather than hang.
import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

export function connectRedis(url: string, role: 'worker' | 'producer', extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
      : {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 2000,
          commandTimeout: 5000,
          ...extra,
        };
  return new Redis(url, options);
}

/** Readiness probe: null when Redis answers PING. */
export async function pingRedis(redis: Redis): Promise<string | null> {
  try {
    return (await redis.ping()) === 'PONG' ? null : 'unexpected PING answer';
  } catch (err) {
    return `redis: ${(err as Error).message}`;
  }
}
