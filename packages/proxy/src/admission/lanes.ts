// The admission engine: per Z.AI account, a lane with its concurrency limit, its rate bucket and
// its fair queue. An attempt is granted at once when its lane has a free slot, a token and nobody
// waiting; otherwise it waits in its client bucket until a release (or a token) frees room for it,
// its deadline passes, or its client leaves. Grants happen in release() itself: no dispatcher loop.
//
// One process, state in memory (persisted through the local store). Shared state across replicas
// goes through the Redis lanes (redis-lanes.ts), which keep this contract.
import {
  type ConcurrencyConfig,
  type ConcurrencyState,
  initialState as initialConcurrency,
  release as releaseConcurrency,
  slots,
  type Ticket,
} from './concurrency-limiter.ts';
import { createFairQueue, type Queued } from './fair-queue.ts';
import {
  type Bucket,
  createBucket,
  initialRate,
  type RateConfig,
  type RateState,
  recordRequest,
  restoreRate,
  setBucketRate,
  takeToken,
} from './rate-limiter.ts';
import type { StateStore } from './state-store.ts';

/** Time as admission sees it: wall ms and a cancellable sleep (virtual in tests and the sim). */
export interface AdmissionClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** What admission needs to know about one attempt. */
export interface Ask {
  /** Z.AI account the attempt spends: 'default' for the proxy's own key, a key digest in pass-through. */
  readonly account: string;
  /** Fairness bucket: a configured client name or source-NN. */
  readonly bucket: string;
  /** The request, stable across its attempts (the client's abort signal serves). */
  readonly request: object;
}

/** How an attempt ended, as admission cares. */
export type LaneOutcome = 'ok' | 'concurrency' | 'frequency' | 'neutral';

export interface Lease {
  release(outcome: LaneOutcome): void;
}

/** A refusal that becomes the client's answer. */
export class AdmissionRefusal extends Error {
  constructor(
    readonly reason: 'queue_full' | 'queue_timeout',
    readonly retryAfterSec: number,
  ) {
    super(reason === 'queue_full' ? 'admission queue full' : 'admission wait budget spent');
    this.name = 'AdmissionRefusal';
  }
}

export interface LanesConfig {
  /** null: no concurrency limit. */
  concurrency: ConcurrencyConfig | null;
  /** null: RATE_LIMIT_ENABLED=false. */
  rate: RateConfig | null;
  /** Waiting attempts, all lanes together (MAX_QUEUE). */
  maxQueue: number;
  /** A request's wait budget, from its first wait through its last requeue (MAX_QUEUE_WAIT). */
  maxQueueWaitMs: number;
}

/** What the engine reports as it goes, for metrics and logs. */
export interface LaneEvents {
  granted(bucket: string, waitedMs: number): void;
  refused(bucket: string, reason: AdmissionRefusal['reason']): void;
  concurrencyChanged(account: string, s: ConcurrencyState, change: string): void;
  rateChanged(account: string, s: RateState, change: string): void;
}

/** A lane's figures for /health and metrics. */
export interface LaneView {
  account: string;
  concurrency: ConcurrencyState | null;
  inflight: number;
  queued: number;
  rate: RateState | null;
  restored: { concurrency: boolean; rate: boolean };
}

export interface Lanes {
  acquire(ask: Ask, signal: AbortSignal): Promise<Lease>;
  view(account: string): LaneView;
  accounts(): string[];
  queued(): number;
  /** POST /admin/reset-rate-limit: every lane back to its initial limits; persisted state dropped. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

interface Waiter extends Queued {
  readonly lane: Lane;
  readonly req: RequestState;
  readonly since: number;
  resolve(l: Lease): void;
  reject(e: unknown): void;
  timer: AbortController | null;
  signal: AbortSignal;
  onAbort: (() => void) | null;
}

interface RequestState {
  /** First time the request waited (its budget starts here), or 0. */
  since: number;
  /** Its last attempt came back 1302: the next one is a requeue, at the head of its bucket. */
  requeue: boolean;
  /** Counted in the rate window already (per request, not per attempt). */
  counted: boolean;
}

interface Lane {
  readonly account: string;
  conc: ConcurrencyState | null;
  inflight: number;
  bucket: Bucket | null;
  rate: RateState | null;
  readonly queue: ReturnType<typeof createFairQueue<Waiter>>;
  /** A wake-up is scheduled (token refill or floor pause). */
  wake: AbortController | null;
  /** No grants before this instant: the limit is at its floor and Z.AI still says 1302. */
  pausedUntil: number;
  pauseMs: number;
  restored: { concurrency: boolean; rate: boolean };
  /** Persisted snapshot of the concurrency state (to write only on a real change). */
  savedSlots: number;
  savedCeiling: number | null;
}

interface Grant {
  readonly lane: Lane;
  readonly t: Ticket;
  readonly at: number;
  credited: boolean;
}

/** After this long in flight an attempt has passed Z.AI's admission (a 1302 comes back at once). */
export const ACCEPTED_AFTER_MS = 5000;
const MAX_LANES = 1024; // pass-through accounts kept; idle ones beyond this are forgotten
const PAUSE_MIN_MS = 250; // 1302 at the floor: first pause before trying again
const PAUSE_MAX_MS = 8000; // …doubling up to 8 s while Z.AI keeps refusing

export function createLanes(
  cfg: LanesConfig,
  clock: AdmissionClock,
  store: StateStore,
  events: LaneEvents,
): Lanes {
  const lanes = new Map<string, Lane>();
  const requests = new WeakMap<object, RequestState>();
  const running = new Set<Grant>(); // granted attempts not yet credited as admitted by Z.AI
  const sweepStop = new AbortController();
  let sweeping = false;
  let queued = 0;

  function lane(account: string): Lane {
    let l = lanes.get(account);
    if (l !== undefined) return l;
    if (lanes.size >= MAX_LANES) evictIdle();
    const now = clock.now();
    l = {
      account,
      conc: cfg.concurrency === null ? null : initialConcurrency(cfg.concurrency),
      inflight: 0,
      bucket: cfg.rate === null ? null : createBucket(cfg.rate.initial, now),
      rate: cfg.rate === null ? null : initialRate(cfg.rate, now),
      queue: createFairQueue<Waiter>(),
      wake: null,
      pausedUntil: 0,
      pauseMs: PAUSE_MIN_MS,
      restored: { concurrency: false, rate: false },
      savedSlots: 0,
      savedCeiling: null,
    };
    l.savedSlots = l.conc === null ? 0 : slots(l.conc);
    lanes.set(account, l);
    void restore(l);
    return l;
  }

  // Applies persisted state if nothing was learned since the lane was created.
  async function restore(l: Lane): Promise<void> {
    const [c, r] = await Promise.all([
      cfg.concurrency === null ? null : store.get(`concurrency:${l.account}`).catch(() => null),
      cfg.rate === null ? null : store.get(`rate:${l.account}`).catch(() => null),
    ]);
    if (c !== null && cfg.concurrency !== null && l.conc !== null && l.conc.episode === 0) {
      const s = initialConcurrency(cfg.concurrency, c as Partial<ConcurrencyState>);
      if (s.limit !== l.conc.limit || s.ceiling !== null) {
        l.conc = s;
        l.savedSlots = slots(s);
        l.savedCeiling = s.ceiling;
        l.restored.concurrency = true;
        events.concurrencyChanged(l.account, s, 'restored');
      }
    }
    if (r !== null && cfg.rate !== null && l.rate !== null && l.rate.ceilingUpdatedAt === 0) {
      const doc = r as { ts?: number };
      const now = clock.now();
      const s = restoreRate(cfg.rate, r, typeof doc.ts === 'number' ? doc.ts : now, now);
      if (s !== null) {
        l.rate = s;
        setBucketRate(l.bucket!, s.rate, now);
        l.restored.rate = true;
        events.rateChanged(l.account, s, 'restored');
      }
    }
    pump(l);
  }

  function evictIdle(): void {
    for (const [k, l] of lanes) {
      if (l.inflight === 0 && l.queue.size === 0 && k !== 'default') lanes.delete(k);
      if (lanes.size < MAX_LANES / 2) return;
    }
  }

  function requestOf(ask: Ask): RequestState {
    let r = requests.get(ask.request);
    if (r === undefined) {
      r = { since: 0, requeue: false, counted: false };
      requests.set(ask.request, r);
    }
    return r;
  }

  // Takes a slot and a token if both are free now; schedules a wake-up when only time is missing.
  function tryTake(l: Lane, now: number): Ticket | null {
    if (l.conc !== null && l.inflight >= slots(l.conc)) return null;
    if (now < l.pausedUntil) {
      schedule(l, l.pausedUntil - now);
      return null;
    }
    if (l.bucket !== null) {
      const wait = takeToken(l.bucket, now);
      if (wait > 0) {
        schedule(l, wait);
        return null;
      }
    }
    l.inflight++;
    return { episode: l.conc?.episode ?? 0, level: l.inflight };
  }

  function schedule(l: Lane, ms: number): void {
    if (l.wake !== null) return;
    const ac = new AbortController();
    l.wake = ac;
    clock.sleep(ms, ac.signal).then(
      () => {
        if (l.wake === ac) l.wake = null;
        pump(l);
      },
      () => {},
    );
  }

  // Grants to waiters, round-robin, while the lane has room.
  function pump(l: Lane): void {
    while (l.queue.size > 0) {
      const now = clock.now();
      const ticket = tryTake(l, now);
      if (ticket === null) return;
      const w = l.queue.shift()!;
      queued--;
      settle(w);
      events.granted(w.bucket, now - w.since);
      w.resolve(lease(l, w.req, ticket));
    }
  }

  function settle(w: Waiter): void {
    w.timer?.abort();
    w.timer = null;
    if (w.onAbort !== null) w.signal.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
  }

  // Feeds one outcome to the lane's concurrency controller.
  function feedConcurrency(
    l: Lane,
    t: Ticket,
    outcome: 'ok' | 'concurrency' | 'neutral',
    inflight: number,
  ): void {
    if (l.conc === null || cfg.concurrency === null) return;
    const r = releaseConcurrency(l.conc, cfg.concurrency, t, outcome, inflight);
    if (r.state === l.conc) return;
    l.conc = r.state;
    if (r.change !== 'none') events.concurrencyChanged(l.account, r.state, r.change);
    persistConcurrency(l);
  }

  // Z.AI answers 1302 at once; an attempt still in flight ACCEPTED_AFTER_MS after its grant was
  // admitted by Z.AI. Crediting it then, not when a minutes-long request ends, lets the limit learn
  // at the pace of admissions rather than of completions.
  function sweep(): void {
    sweeping = false;
    const now = clock.now();
    for (const g of running) {
      if (now - g.at < ACCEPTED_AFTER_MS) continue;
      running.delete(g);
      g.credited = true;
      feedConcurrency(g.lane, g.t, 'ok', g.lane.inflight);
      g.lane.pauseMs = PAUSE_MIN_MS;
    }
    if (running.size > 0) scheduleSweep();
  }

  function scheduleSweep(): void {
    if (sweeping) return;
    sweeping = true;
    clock.sleep(ACCEPTED_AFTER_MS, sweepStop.signal).then(sweep, () => {});
  }

  function lease(l: Lane, req: RequestState, t: Ticket): Lease {
    let done = false;
    const g: Grant = { lane: l, t, at: clock.now(), credited: false };
    if (l.conc !== null) {
      running.add(g);
      scheduleSweep();
    }
    return {
      release(outcome) {
        if (done) return;
        done = true;
        running.delete(g);
        const inflight = l.inflight;
        l.inflight--;
        req.requeue = outcome === 'concurrency' && l.conc !== null;
        if (l.conc !== null && cfg.concurrency !== null) {
          // At the floor a cut changes nothing: a 1302 there means other clients hold the account.
          const floor = l.conc.limit <= cfg.concurrency.min && t.episode === l.conc.episode;
          const o = toConcurrency(outcome);
          if (!(g.credited && o === 'ok')) feedConcurrency(l, t, o, inflight);
          if (outcome === 'concurrency' && floor) {
            // Pause this lane instead of re-sending at once; doubles while Z.AI keeps refusing.
            l.pausedUntil = clock.now() + l.pauseMs;
            l.pauseMs = Math.min(PAUSE_MAX_MS, l.pauseMs * 2);
          } else if (outcome === 'ok') l.pauseMs = PAUSE_MIN_MS;
        }
        if (
          l.rate !== null &&
          cfg.rate !== null &&
          !req.counted &&
          (outcome === 'ok' || outcome === 'frequency')
        ) {
          req.counted = true;
          const now = clock.now();
          const r = recordRequest(l.rate, cfg.rate, outcome === 'frequency', now);
          const before = l.rate.rate;
          l.rate = r.state;
          if (r.state.rate !== before) setBucketRate(l.bucket!, r.state.rate, now);
          if (r.change !== 'none') events.rateChanged(l.account, r.state, r.change);
          if (r.ceilingChanged)
            void store
              .set(`rate:${l.account}`, {
                ceiling: r.state.ceiling,
                hold: r.state.rate,
                ts: r.state.ceilingUpdatedAt,
              })
              .catch(() => {});
        }
        pump(l);
      },
    };
  }

  function persistConcurrency(l: Lane): void {
    const s = l.conc!;
    if (slots(s) === l.savedSlots && s.ceiling === l.savedCeiling) return;
    l.savedSlots = slots(s);
    l.savedCeiling = s.ceiling;
    void store
      .set(`concurrency:${l.account}`, { limit: s.limit, ceiling: s.ceiling, episode: s.episode })
      .catch(() => {});
  }

  function refuse(bucket: string, reason: AdmissionRefusal['reason']): Promise<never> {
    events.refused(bucket, reason);
    return Promise.reject(new AdmissionRefusal(reason, retryAfterSec()));
  }

  // A client told to come back should not come back before a slot is likely free.
  function retryAfterSec(): number {
    return Math.max(1, Math.ceil(Math.min(cfg.maxQueueWaitMs, 10_000) / 1000));
  }

  return {
    acquire(ask, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      const l = lane(ask.account);
      const req = requestOf(ask);
      const now = clock.now();
      const requeue = req.requeue;
      req.requeue = false;
      if (!requeue && l.queue.size === 0) {
        const t = tryTake(l, now);
        if (t !== null) {
          events.granted(ask.bucket, 0);
          return Promise.resolve(lease(l, req, t));
        }
      }
      if (req.since === 0) req.since = now;
      if (!requeue && queued >= cfg.maxQueue) return refuse(ask.bucket, 'queue_full');
      const deadline = (requeue ? req.since : now) + cfg.maxQueueWaitMs;
      if (deadline <= now) return refuse(ask.bucket, 'queue_timeout');
      return new Promise<Lease>((resolve, reject) => {
        const w: Waiter = {
          bucket: ask.bucket,
          state: 'waiting',
          lane: l,
          req,
          since: now,
          resolve,
          reject,
          timer: new AbortController(),
          signal,
          onAbort: null,
        };
        w.onAbort = () => {
          if (l.queue.cancel(w)) {
            queued--;
            settle(w);
            reject(signal.reason);
            pump(l); // the next waiter may now be at the head
          }
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
        clock.sleep(deadline - now, w.timer!.signal).then(
          () => {
            if (!l.queue.cancel(w)) return;
            queued--;
            settle(w);
            events.refused(w.bucket, 'queue_timeout');
            reject(new AdmissionRefusal('queue_timeout', retryAfterSec()));
            pump(l);
          },
          () => {},
        );
        l.queue.push(w, requeue);
        queued++;
        pump(l);
      });
    },
    view(account) {
      const l = lanes.get(account) ?? lane(account);
      return {
        account,
        concurrency: l.conc,
        inflight: l.inflight,
        queued: l.queue.size,
        rate: l.rate,
        restored: l.restored,
      };
    },
    accounts: () => [...lanes.keys()],
    queued: () => queued,
    async reset() {
      const now = clock.now();
      for (const l of lanes.values()) {
        if (cfg.concurrency !== null) {
          l.conc = initialConcurrency(cfg.concurrency);
          l.savedSlots = slots(l.conc);
          l.savedCeiling = null;
          events.concurrencyChanged(l.account, l.conc, 'reset');
        }
        if (cfg.rate !== null) {
          l.rate = initialRate(cfg.rate, now);
          l.bucket = createBucket(cfg.rate.initial, now);
          events.rateChanged(l.account, l.rate, 'reset');
        }
        l.pausedUntil = 0;
        l.pauseMs = PAUSE_MIN_MS;
        l.restored = { concurrency: false, rate: false };
        await store.delete(`concurrency:${l.account}`).catch(() => {});
        await store.delete(`rate:${l.account}`).catch(() => {});
        pump(l);
      }
    },
    async close() {
      // The store belongs to whoever passed it in (admission.ts closes it after every engine).
      for (const l of lanes.values()) l.wake?.abort();
      sweepStop.abort();
    },
  };
}

function toConcurrency(o: LaneOutcome): 'ok' | 'concurrency' | 'neutral' {
  return o === 'ok' || o === 'concurrency' ? o : 'neutral';
}
