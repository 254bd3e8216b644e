// Every Prometheus series the proxy exports, declared in one place on its own Registry.
// Names, types, label names and buckets of zai_proxy_* series are the original's contract.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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

/** The proxy's metric set; create one per process (tests create one per proxy instance). */
export function createMetrics(variant: string) {
  const registry = new Registry();
  const r = [registry];
  const m = {
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
      help: 'Tokens by direction (input = uncached input), model, pricing tier and source (provider or estimate).',
      labelNames: ['direction', 'model', 'variant', 'pricing_tier', 'source'] as const,
      registers: r,
    }),
    costTotal: new Counter({
      name: 'zai_proxy_estimated_cost_usd_total',
      help: 'Estimated cost in USD from the price table, by the same labels as zai_proxy_tokens_total.',
      labelNames: ['direction', 'model', 'variant', 'pricing_tier', 'source'] as const,
      registers: r,
    }),
    planUnits: new Counter({
      name: 'zai_proxy_plan_usage_units_total',
      help: 'Estimated coding-plan quota consumption in plan units (full-price tokens times the model peak/off-peak multiplier).',
      labelNames: ['model', 'variant', 'pricing_tier', 'source'] as const,
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
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
