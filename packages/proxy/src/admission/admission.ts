// The Admission the proxy runs: maps the request path's narrow admission request onto the engine
// (the account it spends, the fairness bucket it waits in), turns the engine's refusals into
// catalogue errors, reports to the metrics and composes the `rate_limit` and `concurrency` sections
// of /health. Built once at startup; with REDIS_URL the concurrency state is shared by replicas.
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { ClientIdentity } from '../http/auth.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { rfc3339 } from '../upstream/forward.ts';
import { clientBucket } from './client-buckets.ts';
import { hold as concurrencyHold } from './concurrency-limiter.ts';
import type { Admission, AdmissionRequest, Permit, PermitOutcome } from './index.ts';
import {
  AdmissionRefusal,
  type Ask,
  createLanes,
  type LaneEvents,
  type LaneOutcome,
  type Lanes,
  type Lease,
} from './lanes.ts';
import { holdRate } from './rate-limiter.ts';
import { createRedisLanes, type RedisLanes } from './redis-lanes.ts';
import { connectRedis, createRedisStore } from './redis-store.ts';
import { lanesConfig } from './settings.ts';
import { createLocalStore, type LocalStore, type StateStore } from './state-store.ts';

export interface AdmissionDeps {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** A client's own cap on requests inside the proxy (its budget's max_in_flight), or null; absent
   *  when no client has one, so enter() pays nothing for it. */
  inflightCap?: ((client: ClientIdentity) => number | null) | undefined;
}

export interface ProxyAdmission extends Admission {
  /** A request enters the proxy: null, or the refusal when MAX_WORKERS are inside already or the
   *  client has its own max_in_flight inside. */
  enter(client: ClientIdentity): GatewayError | null;
  /** …and leaves it (once per enter() that returned null). */
  leave(client: ClientIdentity): void;
  /** The `concurrency` section of /health. */
  concurrencyHealth(): Record<string, unknown>;
  /** POST /admin/reset-rate-limit: limits back to their initial values; the body's figures. */
  reset(): Promise<Record<string, unknown>>;
  /** The state store the quota gate shares (local, or Redis with REDIS_URL). */
  readonly store: StateStore;
}

const FREE: Permit = { release: () => {} };
const ADMITTED = Promise.resolve(FREE);
const DEFAULT_ACCOUNT = 'default';

/** Builds admission from the config. */
export function createAdmission(cfg: Config, d: AdmissionDeps): ProxyAdmission {
  const m = d.metrics;
  const v = m.variant;
  const settings = lanesConfig(cfg);
  const local = createLocalStore({
    path: cfg.RATE_LIMIT_STATE_FILE,
    maxAgeMs: cfg.RATE_LIMIT_STATE_MAX_AGE,
    now: d.clock.now,
    log: d.log,
  });
  const redis = cfg.REDIS_URL === undefined ? null : connectRedis(cfg.REDIS_URL);
  const store: StateStore = redis === null ? local : createRedisStore(redis);

  const rps = m.rateLimitRate.labels(v);
  const limitGauge = m.concurrencyLimit.labels(v);
  const adjustments = {
    increase: m.rateLimitAdjustments.labels('increase', v),
    decrease: m.rateLimitAdjustments.labels('decrease', v),
    probe: m.rateLimitAdjustments.labels('probe', v),
  };
  const concChanges = new Map<string, { inc(): void }>();
  const waitByBucket = new Map<string, { observe(s: number): void }>();
  const queueWait = m.queueWait.labels(v);
  const refusals = {
    queue_full: m.admissionRefusals.labels('queue_full', v),
    queue_timeout: m.admissionRefusals.labels('queue_timeout', v),
  };
  const events: LaneEvents = {
    granted(bucket, waitedMs) {
      let h = waitByBucket.get(bucket);
      if (h === undefined) {
        h = m.rateLimitWait.labels(v, bucket);
        waitByBucket.set(bucket, h);
      }
      h.observe(waitedMs / 1000);
      queueWait.observe(waitedMs / 1000);
    },
    refused(bucket, reason) {
      refusals[reason].inc();
      rejected(bucket);
    },
    concurrencyChanged(account, s, change) {
      if (account === DEFAULT_ACCOUNT || cfg.ZAI_API_KEY === undefined) limitGauge.set(Math.floor(s.limit));
      let c = concChanges.get(change);
      if (c === undefined) {
        c = m.concurrencyAdjustments.labels(change, v);
        concChanges.set(change, c);
      }
      c.inc();
      if (change === 'decrease' || change === 'cap_raised')
        d.log.info(
          {
            account: account === DEFAULT_ACCOUNT ? account : 'client',
            limit: s.limit,
            ceiling: s.ceiling,
            change,
          },
          `Concurrency limit ${change === 'decrease' ? 'cut' : 'raised'}: ${Math.floor(s.limit)} in flight (1302 at ${s.ceiling ?? 'none'})`,
        );
    },
    rateChanged(_account, s, change) {
      rps.set(s.rate);
      if (change === 'increase' || change === 'decrease' || change === 'probe') adjustments[change].inc();
      if (change === 'decrease')
        d.log.info(
          { ceiling: s.ceiling, rate: s.rate },
          `Rate limit: Ceiling updated to ${s.ceiling.toFixed(2)} req/s, holding at ${s.rate.toFixed(2)} req/s`,
        );
    },
  };

  // Without Redis one engine holds both limits and one queue. With Redis the concurrency limit is
  // shared; the rate bucket stays per replica (its ceiling is persisted in the shared store).
  let shared: RedisLanes | null = null;
  let subscriber: ReturnType<typeof connectRedis> | null = null;
  let lanes: Lanes;
  let rateOnly: Lanes | null = null;
  if (redis === null || settings.concurrency === null) {
    lanes = createLanes(settings, d.clock, local, events);
  } else {
    subscriber = connectRedis(cfg.REDIS_URL!);
    shared = createRedisLanes(
      { ...settings, concurrency: settings.concurrency, rate: null },
      d.clock,
      events,
      {
        redis,
        subscriber,
        log: d.log,
        leaseTtlMs: cfg.REDIS_LEASE_TTL,
      },
    );
    lanes = shared;
    if (settings.rate !== null)
      rateOnly = createLanes({ ...settings, concurrency: null }, d.clock, store, events);
    d.clock.sleep(0, new AbortController().signal).then(
      () => d.log.info({ redis: redactUrl(cfg.REDIS_URL!) }, 'Admission: limits shared through Redis'),
      () => {},
    );
  }
  if (settings.rate !== null) rps.set(settings.rate.initial);
  if (settings.concurrency !== null) limitGauge.set(settings.concurrency.initial);
  m.setMaxWorkers(cfg.MAX_WORKERS);
  const sharedGauge = shared === null ? null : m.redisConnected.labels(v);
  sharedGauge?.set(1);
  let inside = 0;
  const maxWorkersRefusals = m.admissionRefusals.labels('max_workers', v);
  const capOf = d.inflightCap;
  // Requests inside per capped client name; entries leave with their last request.
  const insideOf = new Map<string, number>();
  const clientCapRefusals = m.admissionRefusals.labels('client_in_flight', v);
  const rejections = new Map<string, { inc(): void }>();
  const rejected = (bucket: string) => {
    let c = rejections.get(bucket);
    if (c === undefined) {
      c = m.rateLimitRejections.labels(v, bucket);
      rejections.set(bucket, c);
    }
    c.inc();
  };
  // With neither limit on, nothing can wait: an attempt is counted and its wait (0) observed, and the
  // lanes (queue, lease bookkeeping) are skipped, about 3 % of a small request's CPU.
  const unlimited = settings.concurrency === null && settings.rate === null;
  let unlimitedInflight = 0;
  const unlimitedPermit = (): Permit => {
    let done = false;
    return {
      release() {
        if (done) return;
        done = true;
        unlimitedInflight--;
      },
    };
  };
  m.admission.inflightAttempts = () => {
    let n = unlimitedInflight;
    for (const a of lanes.accounts()) n += lanes.view(a).inflight;
    return n;
  };
  m.admission.queued = () => lanes.queued() + (rateOnly?.queued() ?? 0);
  m.admission.requestsInside = () => inside;

  const account = (c: ClientIdentity) => (c.kind === 'passthrough' ? c.name : DEFAULT_ACCOUNT);

  function toLane(o: PermitOutcome): LaneOutcome {
    switch (o.type) {
      case 'ok':
        return 'ok';
      case 'throttled':
        // Read from the classifier's class: 1302 cuts concurrency; 1303 and unclassified 429s feed the rate.
        if (o.zaiClass === 'concurrency') return 'concurrency';
        return o.zaiClass === 'frequency' || o.zaiClass === 'unknown' ? 'frequency' : 'neutral';
      default:
        return 'neutral';
    }
  }

  function permit(leases: Lease[]): Permit {
    return {
      release(o) {
        const lo = toLane(o);
        for (const l of leases) l.release(lo);
        if (shared !== null) sharedGauge!.set(shared.mode() === 'redis' ? 1 : 0);
      },
    };
  }

  function refusal(e: unknown): never {
    if (e instanceof AdmissionRefusal) {
      throw new GatewayError(
        e.reason === 'queue_full' ? 'QUEUE_FULL' : 'QUEUE_TIMEOUT',
        undefined,
        e.retryAfterSec,
      );
    }
    throw e;
  }

  const single = (l: Lease) => permit([l]);
  function acquire(r: AdmissionRequest, signal: AbortSignal): Promise<Permit> {
    if (unlimited) {
      if (signal.aborted) return Promise.reject(signal.reason);
      events.granted(clientBucket(r.client), 0);
      unlimitedInflight++;
      return Promise.resolve(unlimitedPermit());
    }
    const ask: Ask = { account: account(r.client), bucket: clientBucket(r.client), request: signal };
    if (rateOnly === null) return lanes.acquire(ask, signal).then(single, refusal);
    return acquireBoth(ask, rateOnly, signal);
  }

  // With Redis: a token of this replica's rate bucket first, then a shared concurrency slot.
  async function acquireBoth(ask: Ask, rate: Lanes, signal: AbortSignal): Promise<Permit> {
    const token = await rate.acquire(ask, signal).catch(refusal);
    try {
      return permit([token, await lanes.acquire(ask, signal)]);
    } catch (e) {
      token.release('neutral');
      return refusal(e);
    }
  }

  function rateSection(): Record<string, unknown> {
    const view = (rateOnly ?? lanes).view(DEFAULT_ACCOUNT);
    const s = view.rate;
    if (s === null || settings.rate === null) {
      return { current_rate: 0, ceiling: 0, hold: 0, restored_from_state: false, enabled: false };
    }
    const out: Record<string, unknown> = {
      current_rate: s.rate,
      ceiling: s.ceiling,
      hold: holdRate(s, settings.rate),
    };
    if (s.ceilingUpdatedAt > 0) out.ceiling_updated_at = rfc3339(s.ceilingUpdatedAt);
    if (store.source === 'local') out.state_file = cfg.RATE_LIMIT_STATE_FILE;
    out.restored_from_state = view.restored.rate;
    out.enabled = true;
    return out;
  }

  return {
    store,
    requeuesConcurrency: settings.concurrency !== null,
    enter(client) {
      if (inside >= cfg.MAX_WORKERS) {
        maxWorkersRefusals.inc();
        rejected(clientBucket(client));
        return new GatewayError('PROXY_OVERLOADED', undefined, 1);
      }
      if (capOf !== undefined) {
        const cap = capOf(client);
        if (cap !== null) {
          const n = insideOf.get(client.name) ?? 0;
          if (n >= cap) {
            clientCapRefusals.inc();
            rejected(clientBucket(client));
            return new GatewayError(
              'CLIENT_IN_FLIGHT_LIMIT',
              `${client.name} already has ${cap} requests in flight (its max_in_flight budget); retry shortly`,
              1,
            );
          }
          insideOf.set(client.name, n + 1);
        }
      }
      inside++;
      return null;
    },
    leave(client) {
      inside--;
      if (capOf === undefined) return;
      const n = insideOf.get(client.name);
      if (n === undefined) return;
      if (n <= 1) insideOf.delete(client.name);
      else insideOf.set(client.name, n - 1);
    },
    acquire(r, signal) {
      // count_tokens and the model list generate nothing: Z.AI's concurrency limit is not theirs.
      if (r.route === 'count_tokens' || r.route === 'models') return ADMITTED;
      return acquire(r, signal);
    },
    health: rateSection,
    concurrencyHealth() {
      if (settings.concurrency === null) return { enabled: false };
      const view = lanes.view(DEFAULT_ACCOUNT);
      const s = view.concurrency!;
      return {
        enabled: true,
        limit: Math.floor(s.limit),
        in_flight: view.inflight,
        queued: lanes.queued() + (rateOnly?.queued() ?? 0),
        min: settings.concurrency.min,
        max: settings.concurrency.max,
        ceiling: s.ceiling,
        hold: s.ceiling === null ? null : concurrencyHold(s, settings.concurrency),
        source: shared === null ? 'local' : shared.mode() === 'redis' ? 'redis' : 'local',
        ...(shared !== null
          ? { redis: shared.mode() === 'redis' ? 'up' : 'down', replicas: shared.replicas() }
          : {}),
        restored_from_state: view.restored.concurrency,
        accounts: lanes.accounts().length,
      };
    },
    async reset() {
      await lanes.reset();
      await rateOnly?.reset();
      d.log.info(
        { rate: settings.rate?.initial ?? 0, concurrency: settings.concurrency?.initial ?? 0 },
        `Rate limiter reset: rate=${settings.rate?.initial ?? 0}, ceiling=${settings.rate?.initial ?? 0}, concurrency=${settings.concurrency?.initial ?? 0}`,
      );
      return {
        current_rate: settings.rate?.initial ?? 0,
        concurrency_limit: settings.concurrency?.initial ?? 0,
        status: 'reset',
      };
    },
    async close() {
      await rateOnly?.close();
      await lanes.close();
      if (store !== local) await store.close();
      else (local as LocalStore).flush();
      redis?.disconnect();
      subscriber?.disconnect();
    },
  };
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'redis://…';
  }
}
