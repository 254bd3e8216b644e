// The state store shared by every replica: documents as JSON strings under `<prefix>:doc:<key>`,
// with Redis expiry. Also the one place that opens Redis connections for admission.
import { Redis } from 'ioredis';
import type { StateStore } from './state-store.ts';

/** A connection that fails commands at once while Redis is down (admission then falls back to its
 *  share) and reconnects in the background every 250 ms…2 s. */
export function connectRedis(url: string): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(2000, 250 * times),
    lazyConnect: false,
  });
  // Outages are handled (and logged once) by the admission engine, not per reconnect attempt.
  r.on('error', () => {});
  return r;
}

export function createRedisStore(redis: Redis, prefix = 'zai-proxy'): StateStore {
  const k = (key: string) => `${prefix}:doc:${key}`;
  return {
    source: 'redis',
    async get(key) {
      const raw = await redis.get(k(key));
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return null;
      }
    },
    async set(key, value, ttlMs = 0) {
      const text = JSON.stringify(value);
      if (ttlMs > 0) await redis.set(k(key), text, 'PX', Math.ceil(ttlMs));
      else await redis.set(k(key), text);
    },
    async delete(key) {
      await redis.del(k(key));
    },
    async close() {
      redis.disconnect();
    },
  };
}
