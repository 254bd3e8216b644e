// The composition root: the one place that creates the metrics and every module, wires them into the
// request path, composes /health from their sections, and starts and stops them. main.ts, the test
// harness, the demo and the bench all build the proxy here.
//
// Adding a module: create it below (it receives cfg, log, metrics and what it depends on), give the
// request path what it needs from it, add its /health section to `sections`, and add its close() to
// `closers` (closed in reverse order after the server has drained).
import type { AddressInfo } from 'node:net';
import { createAdmission, type ProxyAdmission } from './admission/admission.ts';
import { clientBucket } from './admission/client-buckets.ts';
import type { Admission } from './admission/index.ts';
import { createLocalStore, type StateStore } from './admission/state-store.ts';
import { type Budgets, budgetOf, createBudgets, loadBudgetConfig, noBudgets } from './budgets/index.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { Exchange } from './exchange.ts';
import { createAccessLog } from './http/access-log.ts';
import { createAdminRoutes } from './http/admin-routes.ts';
import { createAuth } from './http/auth.ts';
import { createBodyBudget } from './http/body.ts';
import { createOpsRoutes } from './http/ops-routes.ts';
import { createRequestMetrics } from './http/request-metrics.ts';
import { createHttpServer, type HttpServer } from './http/server.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createQuota, type GateStore, ownTokenUnits } from './quota/index.ts';
import { createSharedGateStore } from './quota/shared-gate-store.ts';
import { anthropic } from './routes/anthropic.ts';
import { countTokensRoute } from './routes/count-tokens.ts';
import { createRouteTable, type RouteKind } from './routes/index.ts';
import { openai } from './routes/openai.ts';
import { createModelRouting, ROUTING_OFF } from './routing/index.ts';
import { createUpstreamClient, type UpstreamClient } from './upstream/client.ts';
import { type ForwardDeps, forward } from './upstream/forward.ts';
import { clientCredential } from './upstream/headers.ts';
import { keepaliveOptions } from './upstream/keepalive.ts';
import { createSignalFanout, type SignalListener } from './upstream/signals.ts';
import { createZaiKey, type Schedule } from './upstream/zai-key.ts';
import { type Accounting, createAccounting, createPeakWindow, type UsageSink } from './usage/index.ts';

/** Replacements for tests and tools; production passes none. */
export interface ProxyOverrides {
  clock?: Clock;
  /** Admission's clock (queue deadlines, token refills); the system clock unless given. */
  admissionClock?: Clock;
  admission?: Admission;
  /** Extra listeners on the upstream signals. */
  signalListeners?: SignalListener[];
  /** Built from the proxy's metrics instead of from the config. */
  accounting?: (metrics: Metrics) => Accounting;
  client?: UpstreamClient;
  /** Runs the ZAI_API_KEY_FILE re-read; tests call it themselves. */
  keySchedule?: Schedule;
  /** The quota gate's store (shared between replicas in tests). */
  quotaStore?: GateStore;
}

export interface ZaiProxy {
  readonly http: HttpServer;
  readonly metrics: Metrics;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** The /health document. */
  health(): Record<string, unknown>;
  inflight(): number;
  /** Turns /readyz 503 at once while still serving for delayMs (load balancers stop sending), then
   *  stops accepting, lets in-flight requests finish up to timeoutMs, breaks the rest; then closes
   *  every module. */
  shutdown(timeoutMs: number, delayMs?: number): Promise<void>;
}

/** Builds the proxy (not yet listening). Throws ConfigError for a config a module cannot use. */
export async function buildProxy(cfg: Config, log: Logger, o: ProxyOverrides = {}): Promise<ZaiProxy> {
  const metrics = createMetrics(cfg.DEPLOYMENT_VARIANT);
  metrics.buildInfo
    .labels(cfg.ZAI_PROXY_VERSION, cfg.DEPLOYMENT_VARIANT, cfg.ZAI_PROXY_COMMIT, cfg.ZAI_PROXY_BUILD_TIME)
    .set(1);
  const auth = createAuth(cfg);
  const budgetConfig = loadBudgetConfig(cfg);
  // Budgets are built after admission (they share its store) and after accounting, but hear usage
  // from accounting: through this binding, and not at all when there are no budgets.
  let budgets: Budgets = noBudgets;
  const spend: UsageSink | null = budgetConfig === null ? null : (c, used) => budgets.record?.(c, used);
  const clock = o.clock ?? systemClock;
  // The in-flight caps are read from the budgets config, so admission can be built first.
  const capped =
    budgetConfig !== null &&
    [...budgetConfig.clients.values(), budgetConfig.default].some(
      (b) => b !== null && b.maxInFlight !== null,
    );
  const own: ProxyAdmission | null =
    o.admission === undefined
      ? createAdmission(cfg, {
          clock: o.admissionClock ?? systemClock,
          log,
          metrics,
          inflightCap: capped ? (c) => budgetOf(budgetConfig!, c.name)?.maxInFlight ?? null : undefined,
        })
      : null;
  // Accounting keeps its learned token ratios in admission's state store (the state file, or Redis).
  const accounting = o.accounting
    ? o.accounting(metrics)
    : await createAccounting(cfg, log, metrics, spend, own?.store ?? null);
  // With REDIS_URL the gate's entries live in admission's Redis store, so every replica of one
  // account gates together.
  const quotaStore =
    o.quotaStore ??
    (own !== null && own.store.source === 'redis' ? sharedQuotaStore(cfg, log, clock, own.store) : undefined);
  const quota = createQuota(cfg, {
    log,
    metrics,
    clock,
    ownUnits: () => ownTokenUnits(metrics),
    ...(quotaStore ? { store: quotaStore } : {}),
  });
  const poller = quota.poller;
  const routing = createModelRouting({
    map: cfg.MODEL_MAP,
    stepDown: cfg.MODEL_STEP_DOWN,
    metrics,
    log,
    now: () => clock.now(),
    quota: () => poller?.state() ?? null,
    staleAfterMs: cfg.QUOTA_STALE_AFTER,
    // The pricing peak window, so `@peak` and the `pricing_tier` label agree on every minute.
    isPeak: createPeakWindow({
      peakStart: cfg.PRICING_PEAK_START,
      peakEnd: cfg.PRICING_PEAK_END,
      timeZone: cfg.PRICING_TIMEZONE,
    }),
  });
  if (budgetConfig !== null) {
    budgets = createBudgets(budgetConfig, cfg.REPORT_TIMEZONE, {
      store:
        own?.store ??
        createLocalStore({ path: null, maxAgeMs: cfg.RATE_LIMIT_STATE_MAX_AGE, now: () => clock.now(), log }),
      now: () => clock.now(),
      log,
      metrics,
      fiveHour: () => quota.window('five_hour'),
    });
    log.info(
      {
        clients: budgetConfig.clients.size,
        default: budgetConfig.default !== null,
        timeZone: cfg.REPORT_TIMEZONE,
      },
      `Budgets enabled: ${budgetConfig.clients.size} named client(s)${budgetConfig.default !== null ? ' and a default' : ''}, periods in ${cfg.REPORT_TIMEZONE}`,
    );
  }
  // The budgets come first (a client over its budget waits for nothing), then the quota gate (a
  // request of a spent account waits for nothing), then pacing.
  const admission = budgets.wrap(quota.wrap(o.admission ?? own!));
  const signals = createSignalFanout((err) =>
    log.error({ err: (err as Error).message }, 'Upstream signal listener failed'),
  );
  signals.subscribe(quota.listener);
  for (const l of o.signalListeners ?? []) signals.subscribe(l);
  const client = o.client ?? createUpstreamClient({ connectTimeoutMs: cfg.UPSTREAM_CONNECT_TIMEOUT });

  const zaiKey = createZaiKey(cfg, log, o.keySchedule);
  const deps: ForwardDeps = {
    client,
    admission,
    signals,
    metrics,
    log,
    clock,
    maxRetries: cfg.MAX_RETRIES,
    maxRetryWaitMs: cfg.MAX_RETRY_WAIT,
    maxResponseBuffer: cfg.MAX_RESPONSE_BUFFER_BYTES,
    headersTimeoutMs: cfg.UPSTREAM_HEADERS_TIMEOUT,
    idleTimeoutMs: cfg.UPSTREAM_IDLE_TIMEOUT,
    keepalive: keepaliveOptions(cfg.STREAM_KEEPALIVE_INTERVAL, metrics),
    credential: (x) => {
      const key = zaiKey.current() ?? clientCredential(x.req.headers);
      return key === null ? null : x.route.surface.credentialHeaders(key);
    },
  };
  // Route behaviour beyond plain forwarding, by route kind.
  const countTokens = countTokensRoute(accounting, deps.clock);
  const runners: Partial<Record<RouteKind, (x: Exchange) => Promise<void>>> = {
    count_tokens: (x) => countTokens(x, (fallback) => forward(x, deps, fallback)),
  };

  const sections = {
    quota: () => quota.health(),
    rate_limit: () => admission.health(),
    concurrency: () => own?.concurrencyHealth() ?? { enabled: false },
    token_counting: () => accounting.health(),
    routing: () => routing?.health() ?? ROUTING_OFF,
    // Only with budgets configured: /health keeps the original's shape otherwise.
    ...(budgetConfig !== null ? { budgets: () => budgets.health() } : {}),
  };
  const closers: (() => Promise<void>)[] = [
    () => client.close(),
    () => admission.close?.() ?? Promise.resolve(),
    () => accounting.close(), // before admission's store, which keeps its ratios
    () => quota.close(),
    () => budgets.close(), // closed first: its last writes land before the store closes
    async () => zaiKey.close(),
  ];

  let http: HttpServer | null = null;
  const ops = createOpsRoutes({
    metrics,
    sections,
    variant: cfg.DEPLOYMENT_VARIANT,
    version: cfg.ZAI_PROXY_VERSION,
    endpoints: [anthropic, openai].flatMap((api) => api.routes.map((r) => `${r.method} ${r.template}`)),
    dashboardUrl: cfg.DASHBOARD_URL,
    draining: () => http?.draining() ?? false,
    token: cfg.METRICS_TOKEN,
  });
  http = createHttpServer({
    log,
    upload: {
      maxBytes: cfg.MAX_REQUEST_BYTES,
      idleMs: cfg.REQUEST_BODY_TIMEOUT,
      minRate: cfg.REQUEST_BODY_MIN_RATE,
    },
    bodyBudget: createBodyBudget(cfg.MAX_BUFFERED_REQUEST_BYTES),
    routes: createRouteTable(cfg),
    ops,
    admin: createAdminRoutes({
      token: cfg.ADMIN_TOKEN,
      resetRateLimit: () => own?.reset() ?? Promise.resolve({ status: 'reset' }),
      budgets: () => budgets.report(),
    }),
    auth,
    metrics: createRequestMetrics(metrics),
    access: createAccessLog(log, cfg),
    // Without routing rules the request path does not know routing exists.
    prepare:
      routing === null
        ? (x) => accounting.prepare(x)
        : (x) => {
            routing.route(x); // first: accounting reads the served model, and splices after it
            accounting.prepare(x);
          },
    run: (x) => run(x),
  });
  const server = http;

  // Per-client request counters, bound once per client label (configured names or 64 buckets).
  const clientRequests = new Map<string, { inc(): void }>();
  async function run(x: Exchange): Promise<void> {
    const label = clientBucket(x.client);
    let c = clientRequests.get(label);
    if (c === undefined) {
      c = metrics.clientRequests.labels(label, cfg.DEPLOYMENT_VARIANT);
      clientRequests.set(label, c);
    }
    c.inc();
    const handle = runners[x.route.kind] ?? ((x: Exchange) => forward(x, deps));
    if (own === null) return handle(x);
    const refused = own.enter(x.client);
    if (refused !== null) throw refused;
    try {
      await handle(x);
    } finally {
      own.leave(x.client);
    }
  }

  return {
    http: server,
    metrics,
    async listen(port, host) {
      const addr = await server.listen(port, host);
      quota.start(); // the first poll once the proxy serves
      return addr;
    },
    health: ops.health,
    inflight: server.inflight,
    async shutdown(timeoutMs, delayMs = 0) {
      await server.drain(timeoutMs, delayMs);
      for (const close of [...closers].reverse()) await close().catch(() => {});
    },
  };
}

/** The quota gate's entries shared through Redis, so every replica of one account gates together. */
function sharedQuotaStore(cfg: Config, log: Logger, clock: Clock, docs: StateStore): GateStore {
  let warnedAt = Number.NEGATIVE_INFINITY;
  return createSharedGateStore({
    docs,
    now: () => clock.now(),
    refreshMs: 1000, // 1 s: a gate closed by one replica closes on the others within a second
    probeIntervalMs: cfg.QUOTA_PROBE_INTERVAL,
    onError(err) {
      // Once a minute at most: with Redis down, every change would otherwise log.
      if (Date.now() - warnedAt < 60_000) return;
      warnedAt = Date.now();
      log.warn(
        { err: (err as Error).message },
        'Quota gate: Redis unavailable; this replica gates on its own',
      );
    },
  });
}
