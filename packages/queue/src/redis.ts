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

/**
 * Waits until a connection is ready. Producer connections refuse commands until
 * then (no offline queue), so start-up work must wait for this first.
 */
export async function waitRedisReady(redis: Redis, timeoutMs = 30_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
