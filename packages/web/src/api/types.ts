// Shapes of the dashboard service's JSON (docs/dashboard-api.md in the dashboard package). Non-finite
// numbers arrive as null ("no data this interval"); optional fields may be absent on older points.

export type Num = number | null;

export interface QuotaWindow {
  limit_type?: string;
  usage_ratio?: number;
  remaining_ratio?: number;
  reset_time_unix?: number;
}

export interface QuotaState {
  five_hour?: QuotaWindow;
  weekly?: QuotaWindow;
  sample_age_seconds?: number;
  /** Set only when the proxy enforces a quota gate; true when the gate lets traffic through. */
  gate_open?: boolean;
  enforcement?: boolean;
}

/** What happened in one point's interval; sums over points are window totals. */
export interface Delta {
  requests: number;
  requests_2xx: number;
  requests_4xx: number;
  requests_5xx: number;
  errors: number;
  requests_429: number;
  broken_streams: number;
  client_aborts: number;
  upstream_errors: number;
  retries: number;
  rate_limit_rejections: number;
  tokens_input: number;
  tokens_output: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  cost_micro_usd_input: number;
  cost_micro_usd_output: number;
  cost_micro_usd_cache_read: number;
  cost_micro_usd_cache_write: number;
  zai_errors: Record<string, number>;
}

/** One variant over one interval, as /api/metrics returns and the `metrics` SSE event pushes. */
export interface Snapshot {
  timestamp: number;
  variant: string;
  interval_seconds?: number;
  targets_up?: number;
  targets_total?: number;
  req_rate?: Num;
  status_code_rates?: Record<string, Num>;
  error_rate_pct?: Num;
  latency_p50?: Num;
  latency_p95?: Num;
  latency_p99?: Num;
  ttfb_p50?: Num;
  ttfb_p95?: Num;
  ttfb_p99?: Num;
  overhead_p50?: Num;
  overhead_p95?: Num;
  overhead_p99?: Num;
  token_rate_in?: Num;
  token_rate_out?: Num;
  token_rate_cache_read?: Num;
  token_rate_cache_write?: Num;
  concurrent_requests?: Num;
  max_workers?: Num;
  worker_utilization?: Num;
  rate_limit_rps?: Num;
  /** Not in the API yet; the panels that need these show an empty state until it carries them. */
  adaptive_limit?: Num;
  queue_depth?: Num;
  queue_wait_p95?: Num;
  rate_limit_ceiling?: Num;
  delta?: Delta;
  quota?: QuotaState;
}

export interface VariantStatus {
  healthy: boolean;
  last_scrape?: string;
  timestamp?: number;
  age_seconds?: Num;
  targets_up?: number;
  targets_total?: number;
  req_rate?: Num;
  error_rate_pct?: Num;
  latency_p50_ms?: Num;
  concurrent?: Num;
  max_workers?: Num;
  quota?: QuotaState;
}

export interface TargetHealth {
  name: string;
  url: string;
  variants: string[];
  up: boolean;
  last_scrape: number | null;
  last_success: number | null;
  age_seconds: Num;
  duration_ms: Num;
  last_error: string | null;
  consecutive_failures: number;
}

export interface StatusResponse {
  now: number;
  source?: string;
  scrape_interval: number;
  variants: Record<string, VariantStatus>;
  targets: TargetHealth[];
  storage?: { ok: boolean; last_error?: string | null; last_error_at?: number | null };
}

export interface ConfigResponse {
  scrape_interval: number;
  variants: string[];
  baseline_variant?: string;
  canary_min_sample?: number;
  report_timezone?: string;
  auth_required?: boolean;
  version?: string;
}

export interface SessionResponse {
  auth_required: boolean;
  authenticated: boolean;
}

/** Token and cost totals for one group (a variant, a model or a client) over the range. */
export interface UsageRow {
  key?: string;
  tokens_input: number;
  tokens_output: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  tokens_total: number;
  cost_micro_usd_total: number;
  cost_usd_total?: number;
  cache_hit_ratio: Num;
}

export interface UsageResponse {
  start: number;
  end: number;
  timezone?: string;
  totals: UsageRow;
  by_variant: UsageRow[];
  by_model: UsageRow[];
  by_client: UsageRow[];
}

export type Verdict = 'promote' | 'hold' | 'rollback' | 'insufficient_data';
export type Outcome = 'pass' | 'hold' | 'rollback' | 'inconclusive' | 'not_applicable';

export interface CanaryMetric {
  metric: string;
  outcome: Outcome;
  test?: string;
  baseline: { n: number; value: Num };
  candidate: { n: number; value: Num };
  statistic?: Num;
  p_value?: Num;
  effect?: Num;
  detail?: string | null;
}

export interface CanaryResult {
  variant: string;
  verdict: Verdict;
  deciding_metric: string | null;
  reason: string;
  confidence: Num;
  forced?: boolean;
  needed: { requests: number; variant: string; eta_seconds: Num; eta: Num } | null;
  metrics: CanaryMetric[];
}

export interface CanaryResponse {
  generated_at: number;
  window: string;
  baseline: string;
  min_sample: number;
  results: CanaryResult[];
}
