// Admission shared by every replica of one Z.AI account through Redis: the concurrency state (limit,
// ceiling, episode) and the in-flight slots live in Redis, so N replicas together hold at most the
// learned limit and a 1302 seen by one cuts it for all. A slot is a member of a sorted set scored by
// its expiry: acquired and released atomically by Lua, renewed by each replica's heartbeat, so a
// replica that dies leaks nothing past the lease TTL. One round trip per acquisition; a release is
// one more (it also publishes, so waiting replicas try again at once).
//
// When Redis is unreachable each replica falls back to a local engine holding its share (the last
// known limit ÷ the last known number of replicas), says so in the log, /health and a metric, and
// rejoins when a heartbeat succeeds again: its local slots still in flight are registered in Redis
// by that heartbeat, so the shared count stays honest.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import {
  type ConcurrencyConfig,
  type ConcurrencyState,
  initialState,
  release as releaseConcurrency,
  type Ticket,
} from './concurrency-limiter.ts';
import { createFairQueue, type Queued } from './fair-queue.ts';
import {
  type AdmissionClock,
  AdmissionRefusal,
  type Ask,
  createLanes,
  type LaneEvents,
  type LaneOutcome,
  type Lanes,
  type LanesConfig,
  type LaneView,
  type Lease,
} from './lanes.ts';
import { createLocalStore } from './state-store.ts';

export interface RedisLanesOptions {
  redis: Redis;
  /** A second connection for pub/sub (subscriber mode takes a connection over). */
  subscriber: Redis;
  log: Logger;
  /** Slot lease: a dead replica's slots come free after this (REDIS_LEASE_TTL). */
  leaseTtlMs: number;
  /** Key prefix; one per deployment sharing a Redis. */
  prefix?: string;
}

export interface RedisLanes extends Lanes {
  /** 'redis' while shared state is reachable, 'fallback' while this replica runs on its share. */
  mode(): 'redis' | 'fallback';
  /** Replicas seen by the last heartbeat. */
  replicas(): number;
}

/** Shared concurrency state as stored (v: version for compare-and-set). */
interface SharedState extends ConcurrencyState {
  v: number;
}

interface Waiter extends Queued {
  readonly ask: Ask;
  readonly since: number;
  resolve(l: Lease): void;
  reject(e: unknown): void;
  timer: AbortController;
  signal: AbortSignal;
  onAbort: () => void;
}

interface Account {
  readonly name: string;
  state: SharedState;
  /** Account-wide slots in use at the last reply. */
  shared: number;
  readonly queue: ReturnType<typeof createFairQueue<Waiter>>;
  busy: boolean;
  /** Own slot ids in Redis (renewed by the heartbeat). */
  readonly own: Set<string>;
  poll: AbortController | null;
}

const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local s = redis.call('GET', KEYS[1])
if not s then s = ARGV[4]; redis.call('SET', KEYS[1], s) end
local st = cjson.decode(s)
local n = redis.call('ZCARD', KEYS[2])
if n < math.floor(st.limit) then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return {1, n + 1, s}
end
return {0, n, s}`;

const RELEASE = `
redis.call('ZREM', KEYS[2], ARGV[1])
local s = redis.call('GET', KEYS[1])
local applied = 0
if ARGV[3] ~= '' and s then
  local st = cjson.decode(s)
  if tostring(st.v) == ARGV[2] then redis.call('SET', KEYS[1], ARGV[3]); s = ARGV[3]; applied = 1 end
end
redis.call('PUBLISH', KEYS[3], '1')
return {applied, redis.call('ZCARD', KEYS[2]), s or ''}`;

const HEARTBEAT = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 5, #ARGV do redis.call('ZADD', KEYS[2], ARGV[4], ARGV[i]) end
local s = redis.call('GET', KEYS[3])
return {redis.call('ZCARD', KEYS[1]), s or ''}`;

const STARTUP_WAIT_MS = 2000; // the connection's connect timeout
const POLL_MS = 1000; // waiters retry at least this often if no release is published
const HEARTBEAT_FRACTION = 3; // renew leases three times per TTL

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

export function createRedisLanes(
  cfg: LanesConfig & { concurrency: ConcurrencyConfig },
  clock: AdmissionClock,
  events: LaneEvents,
  o: RedisLanesOptions,
): RedisLanes {
  const prefix = o.prefix ?? 'zai-proxy';
  const replicaId = randomUUID();
  const key = (account: string, what: string) => `${prefix}:{${account}}:${what}`;
  const replicasKey = `${prefix}:replicas`;
  o.redis.defineCommand('zpAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  o.redis.defineCommand('zpRelease', { numberOfKeys: 3, lua: RELEASE });
  o.redis.defineCommand('zpHeartbeat', { numberOfKeys: 3, lua: HEARTBEAT });
  const r = o.redis as unknown as Record<'zpAcquire' | 'zpRelease' | 'zpHeartbeat', Cmd>;

  const accounts = new Map<string, Account>();
  // Per request (its abort signal): when it first waited, and whether its last attempt met a 1302.
  const requests = new WeakMap<object, { since: number; requeue: boolean }>();
  let mode: 'redis' | 'fallback' = 'redis';
  let replicas = 1;
  let fallback: Lanes | null = null;
  const stopped = new AbortController();
  let queued = 0;

  function account(name: string): Account {
    let a = accounts.get(name);
    if (a === undefined) {
      a = {
        name,
        state: { ...initialState(cfg.concurrency), v: 0 },
        shared: 0,
        queue: createFairQueue<Waiter>(),
        busy: false,
        own: new Set(),
        poll: null,
      };
      accounts.set(name, a);
      void o.subscriber.subscribe(key(name, 'released')).catch(() => {});
    }
    return a;
  }

  o.subscriber.on('message', (channel: string) => {
    for (const a of accounts.values()) if (key(a.name, 'released') === channel) pump(a);
  });

  function parse(a: Account, raw: string): void {
    if (raw === '') return;
    try {
      const s = JSON.parse(raw) as SharedState;
      if (typeof s.limit === 'number' && typeof s.v === 'number') a.state = s;
    } catch {
      // a foreign value under our key: keep the cached state
    }
  }

  // One round trip: a slot for `a` if the shared limit allows.
  async function tryAcquire(a: Account): Promise<{ id: string; ticket: Ticket } | null> {
    const id = randomUUID();
    const now = clock.now();
    const init = JSON.stringify({ ...initialState(cfg.concurrency), v: 0 });
    const res = (await r.zpAcquire(
      key(a.name, 'state'),
      key(a.name, 'slots'),
      now,
      now + o.leaseTtlMs,
      id,
      init,
    )) as [number, number, string];
    parse(a, res[2]);
    a.shared = res[1];
    if (res[0] !== 1) return null;
    a.own.add(id);
    return { id, ticket: { episode: a.state.episode, level: res[1] } };
  }

  function goFallback(err: unknown): void {
    if (mode === 'fallback') return;
    mode = 'fallback';
    const shareOf = (limit: number) => Math.max(1, Math.floor(limit / Math.max(1, replicas)));
    const def = accounts.get('default')?.state.limit ?? cfg.concurrency.initial;
    const share = shareOf(def);
    o.log.warn(
      { err: (err as Error).message, replicas, share },
      `Admission: Redis unreachable; holding this replica's share of the limit (${share} in flight) until it returns`,
    );
    fallback = createLanes(
      {
        ...cfg,
        concurrency: {
          ...cfg.concurrency,
          initial: share,
          min: Math.min(cfg.concurrency.min, share),
          max: share,
        },
      },
      clock,
      createLocalStore({ path: null, maxAgeMs: 0, now: clock.now, log: o.log }),
      events,
    );
    // Waiters move to the local engine, keeping their place order.
    for (const a of accounts.values()) {
      for (let w = a.queue.shift(); w !== undefined; w = a.queue.shift()) {
        queued--;
        settle(w);
        fallback.acquire(w.ask, w.signal).then((l) => w.resolve(wrapFallback(a, l)), w.reject);
      }
    }
  }

  // A local lease that, once Redis is back, is registered there by the heartbeat until it ends.
  function wrapFallback(a: Account, l: Lease): Lease {
    const id = randomUUID();
    a.own.add(id);
    return {
      release(outcome) {
        a.own.delete(id);
        l.release(outcome);
        if (mode === 'redis')
          void r
            .zpRelease(key(a.name, 'state'), key(a.name, 'slots'), key(a.name, 'released'), id, '', '')
            .catch(() => {});
      },
    };
  }

  function settle(w: Waiter): void {
    w.timer.abort();
    w.signal.removeEventListener('abort', w.onAbort);
  }

  function lease(a: Account, id: string, t: Ticket, req: { requeue: boolean } | null): Lease {
    let done = false;
    return {
      release(outcome: LaneOutcome) {
        if (done) return;
        done = true;
        if (req !== null) req.requeue = outcome === 'concurrency';
        a.own.delete(id);
        void sendRelease(a, id, t, outcome, a.shared, 0);
      },
    };
  }

  async function sendRelease(
    a: Account,
    id: string,
    t: Ticket,
    outcome: LaneOutcome,
    inflight: number,
    retry: number,
  ): Promise<void> {
    const o2 = outcome === 'ok' || outcome === 'concurrency' ? outcome : 'neutral';
    const step = releaseConcurrency(a.state, cfg.concurrency, t, o2, Math.max(1, inflight));
    const changed = step.state !== a.state;
    const next = changed ? JSON.stringify({ ...step.state, v: a.state.v + 1 }) : '';
    try {
      const res = (await r.zpRelease(
        key(a.name, 'state'),
        key(a.name, 'slots'),
        key(a.name, 'released'),
        retry === 0 ? id : '',
        a.state.v,
        next,
      )) as [number, number, string];
      const before = a.state;
      parse(a, res[2]);
      a.shared = res[1];
      if (changed && res[0] === 1) {
        if (step.change !== 'none') events.concurrencyChanged(a.name, step.state, step.change);
      } else if (changed && retry === 0 && step.change !== 'increase') {
        // Another replica wrote first: decide again on the fresh state (a cut must not be lost).
        if (a.state !== before) await sendRelease(a, id, t, outcome, res[1] + 1, 1);
      }
    } catch (err) {
      goFallback(err); // the slot expires on its own; nothing is leaked
    }
    pump(a);
  }

  // Grants to waiters while Redis has room; one acquisition in flight per account at a time.
  function pump(a: Account): void {
    if (a.busy || a.queue.size === 0 || mode !== 'redis') return;
    a.busy = true;
    tryAcquire(a).then(
      (got) => {
        a.busy = false;
        if (got === null) {
          schedulePoll(a);
          return;
        }
        const w = a.queue.shift();
        if (w === undefined) {
          // Everyone left meanwhile: give the slot back.
          lease(a, got.id, got.ticket, null).release('neutral');
          return;
        }
        queued--;
        settle(w);
        events.granted(w.bucket, clock.now() - w.since);
        w.resolve(lease(a, got.id, got.ticket, requests.get(w.ask.request) ?? null));
        pump(a);
      },
      (err) => {
        a.busy = false;
        goFallback(err);
      },
    );
  }

  function schedulePoll(a: Account): void {
    if (a.poll !== null) return;
    const ac = new AbortController();
    a.poll = ac;
    clock.sleep(POLL_MS, ac.signal).then(
      () => {
        a.poll = null;
        pump(a);
      },
      () => {},
    );
  }

  async function heartbeat(): Promise<void> {
    const now = clock.now();
    try {
      for (const a of accounts.size === 0 ? [account('default')] : accounts.values()) {
        const res = (await r.zpHeartbeat(
          replicasKey,
          key(a.name, 'slots'),
          key(a.name, 'state'),
          now,
          now + o.leaseTtlMs,
          replicaId,
          now + o.leaseTtlMs,
          ...a.own,
        )) as [number, string];
        replicas = Math.max(1, res[0]);
        parse(a, res[1]);
      }
      if (mode === 'fallback') {
        mode = 'redis';
        o.log.info({ replicas }, 'Admission: Redis is back; sharing the account limit again');
        for (const a of accounts.values()) pump(a);
      }
    } catch (err) {
      goFallback(err);
    }
  }

  async function beat(): Promise<void> {
    if (o.redis.status !== 'ready') {
      // Starting up: give the connection its connect timeout before calling Redis down.
      await Promise.race([
        new Promise((resolve) => o.redis.once('ready', resolve)),
        clock.sleep(STARTUP_WAIT_MS, stopped.signal).catch(() => {}),
      ]);
    }
    o.redis.on('ready', () => void heartbeat()); // rejoin as soon as Redis is back
    while (!stopped.signal.aborted) {
      await heartbeat();
      try {
        await clock.sleep(o.leaseTtlMs / HEARTBEAT_FRACTION, stopped.signal);
      } catch {
        return;
      }
    }
  }
  void beat();

  function refuse(reason: AdmissionRefusal['reason'], bucket: string): Promise<never> {
    events.refused(bucket, reason);
    return Promise.reject(
      new AdmissionRefusal(reason, Math.max(1, Math.ceil(Math.min(cfg.maxQueueWaitMs, 10_000) / 1000))),
    );
  }

  return {
    mode: () => mode,
    replicas: () => replicas,
    async acquire(ask, signal) {
      if (signal.aborted) throw signal.reason;
      const a = account(ask.account);
      if (mode === 'fallback' && fallback !== null)
        return wrapFallback(a, await fallback.acquire(ask, signal));
      const now = clock.now();
      let req = requests.get(ask.request);
      if (req === undefined) {
        req = { since: 0, requeue: false };
        requests.set(ask.request, req);
      }
      const requeue = req.requeue;
      req.requeue = false;
      if (a.queue.size === 0 && !a.busy && !requeue) {
        try {
          const got = await tryAcquire(a);
          if (got !== null) {
            events.granted(ask.bucket, 0);
            return lease(a, got.id, got.ticket, req);
          }
        } catch (err) {
          goFallback(err);
          return wrapFallback(a, await fallback!.acquire(ask, signal));
        }
      }
      if (req.since === 0) req.since = now;
      if (!requeue && queued >= cfg.maxQueue) return refuse('queue_full', ask.bucket);
      const deadline = (requeue ? req.since : now) + cfg.maxQueueWaitMs;
      if (deadline <= now) return refuse('queue_timeout', ask.bucket);
      return new Promise<Lease>((resolve, reject) => {
        const w: Waiter = {
          bucket: ask.bucket,
          state: 'waiting',
          ask,
          since: now,
          resolve,
          reject,
          timer: new AbortController(),
          signal,
          onAbort: () => {
            if (a.queue.cancel(w)) {
              queued--;
              settle(w);
              reject(signal.reason);
            }
          },
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
        clock.sleep(deadline - now, w.timer.signal).then(
          () => {
            if (!a.queue.cancel(w)) return;
            queued--;
            settle(w);
            refuse('queue_timeout', w.bucket).catch(reject);
          },
          () => {},
        );
        a.queue.push(w, requeue);
        queued++;
        pump(a);
      });
    },
    view(name): LaneView {
      const a = account(name);
      const local = mode === 'fallback' && fallback !== null ? fallback.view(name) : null;
      return {
        account: name,
        concurrency: local?.concurrency ?? a.state,
        inflight: local?.inflight ?? a.shared,
        queued: a.queue.size + (local?.queued ?? 0),
        rate: null,
        restored: { concurrency: false, rate: false },
      };
    },
    accounts: () => [...accounts.keys()],
    queued: () => queued + (fallback?.queued() ?? 0),
    async reset() {
      for (const a of accounts.values()) {
        a.state = { ...initialState(cfg.concurrency), v: a.state.v + 1 };
        await o.redis.set(key(a.name, 'state'), JSON.stringify(a.state)).catch(() => {});
        events.concurrencyChanged(a.name, a.state, 'reset');
      }
      await fallback?.reset();
    },
    async close() {
      stopped.abort();
      for (const a of accounts.values()) a.poll?.abort();
      await fallback?.close();
    },
  };
}
