// The composition root: the one place that creates the metrics and every module, wires them into the
// request path, composes /health from their sections, and starts and stops them. main.ts, the test
// harness, the demo and the bench all build the proxy here.
//
// Adding a module: create it below (it receives cfg, log, metrics and what it depends on), give the
// request path what it needs from it, add its /health section to `sections`, and add its close() to
// `closers` (closed in reverse order after the server has drained).
import type { AddressInfo } from 'node:net';
import { type Admission, openAdmission } from './admission/index.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createAuth } from './http/auth.ts';
import { createOpsRoutes } from './http/ops-routes.ts';
import { createRequestMetrics } from './http/request-metrics.ts';
import { createHttpServer, type HttpServer } from './http/server.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { countTokensFallback } from './routes/count-tokens.ts';
import { createRouteTable, type RouteKind } from './routes/index.ts';
import { createUpstreamClient, type UpstreamClient } from './upstream/client.ts';
import { type ForwardDeps, forward, type StatusFallback } from './upstream/forward.ts';
import { clientCredential } from './upstream/headers.ts';
import { createSignalFanout, type SignalListener } from './upstream/signals.ts';
import { createZaiKey, type Schedule } from './upstream/zai-key.ts';
import { type Accounting, createAccounting } from './usage/index.ts';

/** Replacements for tests and tools; production passes none. */
export interface ProxyOverrides {
  clock?: Clock;
  admission?: Admission;
  /** Extra listeners on the upstream signals. */
  signalListeners?: SignalListener[];
  /** Built from the proxy's metrics instead of from the config. */
  accounting?: (metrics: Metrics) => Accounting;
  client?: UpstreamClient;
  /** Runs the ZAI_API_KEY_FILE re-read; tests call it themselves. */
  keySchedule?: Schedule;
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
  const accounting = o.accounting ? o.accounting(metrics) : await createAccounting(cfg, log, metrics);
  const admission = o.admission ?? openAdmission;
  const signals = createSignalFanout((err) =>
    log.error({ err: (err as Error).message }, 'Upstream signal listener failed'),
  );
  for (const l of o.signalListeners ?? []) signals.subscribe(l);
  const client = o.client ?? createUpstreamClient({ connectTimeoutMs: cfg.UPSTREAM_CONNECT_TIMEOUT });

  const zaiKey = createZaiKey(cfg, log, o.keySchedule);
  const deps: ForwardDeps = {
    client,
    admission,
    signals,
    metrics,
    log,
    clock: o.clock ?? systemClock,
    maxRetries: cfg.MAX_RETRIES,
    maxRetryWaitMs: cfg.MAX_RETRY_WAIT,
    maxResponseBuffer: cfg.MAX_RESPONSE_BUFFER_BYTES,
    headersTimeoutMs: cfg.UPSTREAM_HEADERS_TIMEOUT,
    idleTimeoutMs: cfg.UPSTREAM_IDLE_TIMEOUT,
    credential: (x) => {
      const key = zaiKey.current() ?? clientCredential(x.req.headers);
      return key === null ? null : x.route.surface.credentialHeaders(key);
    },
  };
  // Route behaviour beyond plain forwarding, by route kind.
  const fallbacks: Partial<Record<RouteKind, StatusFallback>> = {
    count_tokens: countTokensFallback((x) => accounting.countTokensLocally(x)),
  };

  const sections = {
    quota: () => ({ enabled: false, fresh: false }), // the quota poller's section, until it exists
    rate_limit: () => admission.health(),
    token_counting: () => accounting.health(),
  };
  const closers: (() => Promise<void>)[] = [
    () => client.close(),
    () => accounting.close(),
    () => admission.close?.() ?? Promise.resolve(),
    async () => zaiKey.close(),
  ];

  let http: HttpServer | null = null;
  const ops = createOpsRoutes({
    metrics,
    sections,
    variant: cfg.DEPLOYMENT_VARIANT,
    version: cfg.ZAI_PROXY_VERSION,
    draining: () => http?.draining() ?? false,
  });
  http = createHttpServer({
    log,
    maxRequestBytes: cfg.MAX_REQUEST_BYTES,
    routes: createRouteTable(cfg),
    ops,
    auth,
    metrics: createRequestMetrics(metrics),
    prepare: (x) => accounting.prepare(x),
    run: (x) => forward(x, deps, fallbacks[x.route.kind]),
  });
  const server = http;

  return {
    http: server,
    metrics,
    listen: (port, host) => server.listen(port, host),
    health: ops.health,
    inflight: server.inflight,
    async shutdown(timeoutMs, delayMs = 0) {
      await server.drain(timeoutMs, delayMs);
      for (const close of [...closers].reverse()) await close().catch(() => {});
    },
  };
}
