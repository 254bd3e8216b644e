// The state store shared by every replica: documents as JSON strings under `<prefix>:doc:<key>`,
// with Redis expiry. Also the one place that opens Redis connections for admission.
import { Redis } from 'ioredis';
import { numbers, type StateStore } from './state-store.ts';

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

// Every field incremented, the expiry moved and the whole hash returned in one atomic step, so two
// replicas adding to one budget never lose an increment.
const ADD = `for i = 1, #ARGV - 1, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
if tonumber(ARGV[#ARGV]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV]) end
return redis.call('HGETALL', KEYS[1])`;

export function createRedisStore(redis: Redis, prefix = 'zai-proxy'): StateStore {
  const k = (key: string) => `${prefix}:doc:${key}`;
  const sum = (key: string) => `${prefix}:sum:${key}`;
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
    async add(key, deltas, ttlMs) {
      const args: (string | number)[] = [];
      for (const [f, n] of Object.entries(deltas)) args.push(f, n);
      args.push(Math.ceil(ttlMs));
      const flat = (await redis.eval(ADD, 1, sum(key), ...args)) as string[];
      return pairs(flat);
    },
    async counters(key) {
      return numbers(await redis.hgetall(sum(key)));
    },
    async close() {
      redis.disconnect();
    },
  };
}

function pairs(flat: string[]): Record<string, number> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return numbers(o);
}
