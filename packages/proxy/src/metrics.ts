// Every Prometheus series the proxy exports, declared in one place on its own Registry.
// Names, types, label names and buckets of zai_proxy_* series are the original's contract.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { cheapChildren } from './metric-children.ts';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const SIZE_BUCKETS = [100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const OVERHEAD_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];
const TOKEN_COUNT_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1];
const TOKEN_RATE_SECONDS_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];
// Signed relative error of a local input estimate against Z.AI's count: (estimate − provider) / provider.
const ESTIMATE_ERROR_BUCKETS = [-0.5, -0.3, -0.2, -0.1, -0.05, -0.02, 0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];
const TOKEN_RATE_BUCKETS = [10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000];
const RATE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
const QUEUE_WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/** Admission figures read at scrape time (set by the admission module; zero until it exists). */
export interface AdmissionGauges {
  inflightAttempts(): number;
  queued(): number;
  requestsInside(): number;
}

/** The proxy's metric set; create one per process (tests create one per proxy instance). */
export function createMetrics(variant: string) {
  const registry = new Registry();
  const r = [registry];
  // Gauges whose value is a function of time (gate open until a reset, age of a sample) are brought
  // up to date when Prometheus scrapes, by the module that owns them; the first quota series runs it.
  const scrapeHooks = { quota: (): void => {}, budgets: (): void => {} };
  const admission: AdmissionGauges = { inflightAttempts: () => 0, queued: () => 0, requestsInside: () => 0 };
  let maxWorkers = 0;
  const m = {
    scrapeHooks,
    registry,
    variant,
    requestsTotal: new Counter({
      name: 'zai_proxy_requests_total',
      help: 'Completed proxied requests by route template and final status.',
      labelNames: ['method', 'path', 'status_code', 'variant'] as const,
      registers: r,
    }),
    requestDuration: new Histogram({
      name: 'zai_proxy_request_duration_seconds',
      help: 'Time from request arrival to the last response byte.',
      labelNames: ['method', 'path', 'status_code', 'variant'] as const,
      buckets: DURATION_BUCKETS,
      registers: r,
    }),
    requestSize: new Histogram({
      name: 'zai_proxy_request_size_bytes',
      help: 'Request body size in bytes, as received.',
      labelNames: ['method', 'path', 'variant'] as const,
      buckets: SIZE_BUCKETS,
      registers: r,
    }),
    responseSize: new Histogram({
      name: 'zai_proxy_response_size_bytes',
      help: 'Response body bytes written to the client.',
      labelNames: ['method', 'path', 'status_code', 'variant'] as const,
      buckets: SIZE_BUCKETS,
      registers: r,
    }),
    concurrentRequests: new Gauge({
      name: 'zai_proxy_concurrent_requests',
      help: 'Proxied requests in flight.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    buildInfo: new Gauge({
      name: 'zai_proxy_build_info',
      help: 'Build information; always 1.',
      labelNames: ['version', 'variant', 'commit', 'build_time'] as const,
      registers: r,
    }),
    upstreamErrors: new Counter({
      name: 'zai_proxy_upstream_errors_total',
      help: 'Failed upstream attempts by error type (HTTP status or failure kind).',
      labelNames: ['error_type', 'variant'] as const,
      registers: r,
    }),
    overhead: new Histogram({
      name: 'zai_proxy_overhead_seconds',
      help: 'Time spent in the proxy itself: total minus upstream time, admission and retry waits.',
      labelNames: ['path', 'variant'] as const,
      buckets: OVERHEAD_BUCKETS,
      registers: r,
    }),
    timeToFirstByte: new Histogram({
      name: 'zai_proxy_time_to_first_byte_seconds',
      help: 'Time from request arrival to the first response body byte sent to the client.',
      labelNames: ['path', 'variant'] as const,
      buckets: DURATION_BUCKETS,
      registers: r,
    }),
    clientAborts: new Counter({
      name: 'zai_proxy_client_aborts_total',
      help: 'Requests whose client disconnected before the response finished.',
      labelNames: ['path', 'variant'] as const,
      registers: r,
    }),
    requestOutcomes: new Counter({
      name: 'zai_proxy_request_outcomes_total',
      help: 'Proxied requests by how their response ended: completed, client_abort, upstream_broken, proxy_abort.',
      labelNames: ['path', 'outcome', 'variant'] as const,
      registers: r,
    }),
    streamKeepalives: new Counter({
      name: 'zai_proxy_stream_keepalives_total',
      help: 'Keepalives sent to stream clients while upstream was silent (Anthropic ping events, OpenAI comments).',
      labelNames: ['api', 'variant'] as const,
      registers: r,
    }),
    retryAttempts: new Counter({
      name: 'zai_proxy_retry_attempts_total',
      help: 'Retry decisions by reason; reason="retry" counts every retry actually started.',
      labelNames: ['reason', 'variant'] as const,
      registers: r,
    }),
    zaiErrors: new Counter({
      name: 'zai_proxy_zai_errors_total',
      help: 'Classified Z.AI error responses by class and (bounded) business code.',
      labelNames: ['class', 'code', 'variant'] as const,
      registers: r,
    }),
    tokensTotal: new Counter({
      name: 'zai_proxy_tokens_total',
      help: 'Tokens by direction (input = uncached input), model served, pricing tier, source (provider or estimate) and the model the client asked for.',
      labelNames: ['direction', 'model', 'variant', 'pricing_tier', 'source', 'requested_model'] as const,
      registers: r,
    }),
    costTotal: new Counter({
      name: 'zai_proxy_estimated_cost_usd_total',
      help: 'Estimated cost in USD from the price table, by the same labels as zai_proxy_tokens_total.',
      labelNames: ['direction', 'model', 'variant', 'pricing_tier', 'source', 'requested_model'] as const,
      registers: r,
    }),
    planUnits: new Counter({
      name: 'zai_proxy_plan_usage_units_total',
      help: 'Estimated coding-plan quota consumption in plan units (full-price tokens times the model peak/off-peak multiplier).',
      labelNames: ['model', 'variant', 'pricing_tier', 'source'] as const,
      registers: r,
    }),
    modelRouted: new Counter({
      name: 'zai_proxy_model_routed_total',
      help: 'Requests whose model the proxy changed: the model asked for, the model served, and why (map or step_down).',
      labelNames: ['requested_model', 'model', 'reason', 'variant'] as const,
      registers: r,
    }),
    tokenCountDuration: new Histogram({
      name: 'zai_proxy_token_count_duration_seconds',
      help: 'Time spent counting tokens locally.',
      labelNames: ['variant'] as const,
      buckets: TOKEN_COUNT_BUCKETS,
      registers: r,
    }),
    tokenRateSeconds: new Histogram({
      name: 'zai_proxy_token_rate_seconds',
      help: 'Tokenisation time of local estimates, by direction and model.',
      labelNames: ['direction', 'model', 'variant'] as const,
      buckets: TOKEN_RATE_SECONDS_BUCKETS,
      registers: r,
    }),
    tokenRate: new Histogram({
      name: 'zai_proxy_token_rate',
      help: 'Tokens per second of local tokenisation, by direction and model.',
      labelNames: ['direction', 'model', 'variant'] as const,
      buckets: TOKEN_RATE_BUCKETS,
      registers: r,
    }),
    tokenCalibrationRatio: new Gauge({
      name: 'zai_proxy_token_calibration_ratio',
      help: "Learned ratio of Z.AI's input tokens to the local cl100k estimate, per model (applied to local count_tokens answers).",
      labelNames: ['model', 'variant'] as const,
      registers: r,
    }),
    tokenEstimateError: new Histogram({
      name: 'zai_proxy_token_estimate_error_ratio',
      help: "Relative error (estimate - provider) / provider of the local input estimate against Z.AI's reported input usage, raw and calibrated.",
      labelNames: ['model', 'variant', 'estimate'] as const,
      buckets: ESTIMATE_ERROR_BUCKETS,
      registers: r,
    }),
    tokenCountingMode: new Gauge({
      name: 'zai_proxy_token_counting_mode',
      help: 'Active local token counter: 1 for the active mode (tiktoken, fallback or disabled).',
      labelNames: ['mode', 'variant'] as const,
      registers: r,
    }),
    usageSource: new Counter({
      name: 'zai_proxy_usage_source_total',
      help: 'Responses whose usage came from the provider or from a local estimate.',
      labelNames: ['source', 'api', 'variant'] as const,
      registers: r,
    }),
    // Quota (the poller, the gate and the forecast). Their `variant` is sanitised, as in the original.
    quotaUsage: new Gauge({
      name: 'zai_proxy_quota_usage_ratio',
      help: 'Used fraction of a Z.AI quota window, from the last good poll.',
      labelNames: ['window', 'limit_type', 'variant'] as const,
      registers: r,
      collect: () => scrapeHooks.quota(),
    }),
    quotaRemaining: new Gauge({
      name: 'zai_proxy_quota_remaining_ratio',
      help: 'Remaining fraction of a Z.AI quota window (1 − used), from the last good poll.',
      labelNames: ['window', 'limit_type', 'variant'] as const,
      registers: r,
    }),
    quotaReset: new Gauge({
      name: 'zai_proxy_quota_reset_time_seconds',
      help: 'Next reset of a Z.AI quota window, Unix seconds; only when the provider gave one.',
      labelNames: ['window', 'limit_type', 'variant'] as const,
      registers: r,
    }),
    quotaSampleAge: new Gauge({
      name: 'zai_proxy_quota_sample_age_seconds',
      help: 'Age of the last good quota sample at scrape time.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    quotaPolls: new Counter({
      name: 'zai_proxy_quota_poll_total',
      help: 'Quota poll outcomes; stale is counted once per stretch without a fresh sample.',
      labelNames: ['result', 'variant'] as const,
      registers: r,
    }),
    quotaGateOpen: new Gauge({
      name: 'zai_proxy_quota_gate_open',
      help: 'Whether requests may go for a quota window: 1 open, 0 closed for at least one account.',
      labelNames: ['window', 'variant'] as const,
      registers: r,
    }),
    quotaGateRejections: new Counter({
      name: 'zai_proxy_quota_gate_rejections_total',
      help: 'Requests answered 429 by the quota gate instead of being sent, by the window that is spent.',
      labelNames: ['window', 'variant'] as const,
      registers: r,
    }),
    quotaToolUsage: new Gauge({
      name: 'zai_proxy_quota_tool_usage_ratio',
      help: 'Used fraction of the monthly tool-call (MCP) allowance, from the last good poll.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    quotaToolReset: new Gauge({
      name: 'zai_proxy_quota_tool_reset_time_seconds',
      help: 'Next reset of the monthly tool-call allowance, Unix seconds.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    quotaBurnRate: new Gauge({
      name: 'zai_proxy_quota_burn_rate',
      help: 'Forecast: used fraction of a quota window per hour over the last hour of samples.',
      labelNames: ['window', 'variant'] as const,
      registers: r,
    }),
    quotaExhaustion: new Gauge({
      name: 'zai_proxy_quota_exhaustion_time_seconds',
      help: 'Forecast: when a quota window runs out at the current pace, Unix seconds; absent when not before its reset.',
      labelNames: ['window', 'variant'] as const,
      registers: r,
    }),
    quotaExternalShare: new Gauge({
      name: 'zai_proxy_quota_external_burn_ratio',
      help: "Forecast: share of a window's burn the proxy's own traffic does not explain (0 within tolerance).",
      labelNames: ['window', 'variant'] as const,
      registers: r,
    }),
    // Admission (docs/admission.md). The original's series keep its names and labels.
    admission,
    maxWorkers: new Gauge({
      name: 'zai_proxy_max_workers',
      help: 'MAX_WORKERS: requests the proxy holds at once, running or waiting.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    setMaxWorkers(n: number) {
      maxWorkers = n;
      m.maxWorkers.labels(variant).set(n);
    },
    workerUtilization: new Gauge({
      name: 'zai_proxy_worker_utilization_ratio',
      help: 'Requests inside the proxy (running or waiting) ÷ MAX_WORKERS.',
      labelNames: ['variant'] as const,
      registers: r,
      collect() {
        if (maxWorkers > 0) this.labels(variant).set(admission.requestsInside() / maxWorkers);
      },
    }),
    rateLimitRate: new Gauge({
      name: 'zai_proxy_rate_limit_requests_per_second',
      help: 'Current token-bucket rate of the adaptive rate limiter (req/s).',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    rateLimitWait: new Histogram({
      name: 'zai_proxy_rate_limit_wait_seconds',
      help: 'Time an attempt waited for admission (queue, rate token and concurrency slot), by client bucket.',
      labelNames: ['variant', 'client'] as const,
      buckets: RATE_WAIT_BUCKETS,
      registers: r,
    }),
    rateLimitAdjustments: new Counter({
      name: 'zai_proxy_rate_limit_adjustments_total',
      help: 'Rate controller decisions by direction.',
      labelNames: ['direction', 'variant'] as const,
      registers: r,
    }),
    rateLimitRejections: new Counter({
      name: 'zai_proxy_rate_limit_rejections_total',
      help: 'Requests refused by admission (MAX_WORKERS, full queue, spent wait), by client bucket.',
      labelNames: ['variant', 'client'] as const,
      registers: r,
    }),
    concurrencyLimit: new Gauge({
      name: 'zai_proxy_concurrency_limit',
      help: 'Learned limit on attempts in flight to Z.AI.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    inflightAttempts: new Gauge({
      name: 'zai_proxy_upstream_inflight_attempts',
      help: 'Attempts in flight to Z.AI holding a concurrency slot (account-wide with REDIS_URL).',
      labelNames: ['variant'] as const,
      registers: r,
      collect() {
        this.labels(variant).set(admission.inflightAttempts());
      },
    }),
    queueDepth: new Gauge({
      name: 'zai_proxy_queue_depth',
      help: 'Attempts waiting for admission.',
      labelNames: ['variant'] as const,
      registers: r,
      collect() {
        this.labels(variant).set(admission.queued());
      },
    }),
    queueWait: new Histogram({
      name: 'zai_proxy_queue_wait_seconds',
      help: 'Time an attempt waited for admission; the long-wait view of zai_proxy_rate_limit_wait_seconds.',
      labelNames: ['variant'] as const,
      buckets: QUEUE_WAIT_BUCKETS,
      registers: r,
    }),
    concurrencyAdjustments: new Counter({
      name: 'zai_proxy_concurrency_adjustments_total',
      help: 'Concurrency controller decisions by direction.',
      labelNames: ['direction', 'variant'] as const,
      registers: r,
    }),
    admissionRefusals: new Counter({
      name: 'zai_proxy_admission_refusals_total',
      help: 'Requests refused by admission, by reason (max_workers, queue_full, queue_timeout).',
      labelNames: ['reason', 'variant'] as const,
      registers: r,
    }),
    redisConnected: new Gauge({
      name: 'zai_proxy_admission_redis_connected',
      help: '1 while admission shares its limits through Redis, 0 while this replica runs on its share.',
      labelNames: ['variant'] as const,
      registers: r,
    }),
    clientRequests: new Counter({
      name: 'zai_proxy_client_requests_total',
      help: 'Proxied requests by client (configured name or source-NN).',
      labelNames: ['client', 'variant'] as const,
      registers: r,
    }),
    clientTokens: new Counter({
      name: 'zai_proxy_client_tokens_total',
      help: 'Tokens by client and direction.',
      labelNames: ['client', 'direction', 'variant'] as const,
      registers: r,
    }),
    clientCost: new Counter({
      name: 'zai_proxy_client_cost_usd_total',
      help: 'Estimated cost in USD by client.',
      labelNames: ['client', 'variant'] as const,
      registers: r,
    }),
    // Budgets (docs/budgets.md): `budget` is a limit name of the budgets file, `threshold` a
    // configured warn_at fraction or 1 (the limit itself).
    budgetUsedRatio: new Gauge({
      name: 'zai_proxy_budget_used_ratio',
      help: "Used fraction of a client's budget limit in its current period (the most spent client of a source-NN label).",
      labelNames: ['client', 'budget', 'variant'] as const,
      registers: r,
      collect: () => scrapeHooks.budgets(),
    }),
    budgetWarningActive: new Gauge({
      name: 'zai_proxy_budget_warning_active',
      help: 'Whether a budget warning threshold is crossed in the current period: 1 from its one warning until it resolves.',
      labelNames: ['client', 'budget', 'threshold', 'variant'] as const,
      registers: r,
    }),
    budgetWarnings: new Counter({
      name: 'zai_proxy_budget_warnings_total',
      help: 'Budget warnings fired, once per client, limit, threshold and period (threshold 1: the limit was reached).',
      labelNames: ['client', 'budget', 'threshold', 'variant'] as const,
      registers: r,
    }),
    budgetRejections: new Counter({
      name: 'zai_proxy_budget_rejections_total',
      help: 'Requests answered 429 BUDGET_EXCEEDED instead of being sent, by client and the spent limit.',
      labelNames: ['client', 'budget', 'variant'] as const,
      registers: r,
    }),
  };
  // The request path updates counters and histograms many times per request: their children cheap.
  for (const metric of Object.values(m))
    if (metric instanceof Counter || metric instanceof Histogram) cheapChildren(metric);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
