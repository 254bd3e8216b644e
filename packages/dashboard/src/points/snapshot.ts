// Points → the API's MetricSnapshot JSON (docs/dashboard-api.md). This is the one place where a
// non-finite number (an empty histogram's quantile, a ratio over zero, a rate over no time) becomes
// null, so no route can emit NaN or drop a frame over it.
import { histogramQuantile } from '@zai-proxy/prom-text';
import {
  COUNT_FIELDS,
  CUMULATIVE_FIELDS,
  type Delta,
  DIRECTIONS,
  type GaugeAcc,
  type Hist,
  type Point,
  type Quota,
} from './point.ts';

/** A finite number or null. */
export const num = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? x : null;

const mean = (g: GaugeAcc | undefined) => (g === undefined || g.n === 0 ? null : num(g.sum / g.n));

/** q-quantile of a histogram delta in milliseconds (seconds-based metrics), or null without observations. */
export function quantileMs(h: Hist | undefined, q: number): number | null {
  if (h === undefined) return null;
  return num(histogramQuantile(h, q) * 1000);
}

export interface MetricSnapshot {
  timestamp: number;
  variant: string;
  interval_seconds: number;
  targets_up: number;
  targets_total: number;
  [field: string]: unknown;
}

/** What a `client` filter replaces in a snapshot: that client's token and cost deltas. */
export type ClientUsage = Pick<
  Delta,
  | 'tokens_input'
  | 'tokens_output'
  | 'tokens_cache_read'
  | 'tokens_cache_write'
  | 'cost_micro_usd_input'
  | 'cost_micro_usd_output'
  | 'cost_micro_usd_cache_read'
  | 'cost_micro_usd_cache_write'
>;

const TOKEN_RATE_NAMES = {
  input: 'token_rate_in',
  output: 'token_rate_out',
  cache_read: 'token_rate_cache_read',
  cache_write: 'token_rate_cache_write',
} as const;

/** The API JSON of one point; with `client`, token and cost figures are that client's only. */
export function toSnapshot(p: Point, client?: ClientUsage): MetricSnapshot {
  const secs = p.intervalMs / 1000;
  const rate = (n: number) => (secs > 0 ? num(n / secs) : null);
  const d = client === undefined ? p.delta : { ...p.delta, ...client };
  const s: MetricSnapshot = {
    timestamp: p.ts,
    variant: p.variant,
    interval_seconds: secs,
    targets_up: p.targetsUp,
    targets_total: p.targetsTotal,
  };
  for (const f of CUMULATIVE_FIELDS) {
    const perClient = f.startsWith('tokens_') || f.startsWith('estimated_cost_usd_');
    s[f] = client !== undefined && perClient ? null : (num(p.cum[f]) ?? 0);
  }
  const concurrent = mean(p.gauges.concurrent);
  const max = mean(p.gauges.max_workers);
  s.concurrent_requests = concurrent;
  s.max_workers = max;
  s.worker_utilization = concurrent !== null && max !== null && max > 0 ? num(concurrent / max) : null;
  s.rate_limit_rps = mean(p.gauges.rate_limit_rps);
  s.req_rate = rate(d.requests);
  const codes: Record<string, number> = {};
  for (const code of Object.keys(d.status).sort())
    if (d.status[code]! > 0) codes[code] = rate(d.status[code]!) ?? 0;
  s.status_code_rates = codes;
  s.error_rate_pct = d.requests > 0 ? num((100 * d.errors) / d.requests) : null;
  for (const [key, h] of [
    ['latency', p.hist.duration],
    ['ttfb', p.hist.ttfb],
    ['overhead', p.hist.overhead],
  ] as const) {
    s[`${key}_p50`] = quantileMs(h, 0.5);
    s[`${key}_p95`] = quantileMs(h, 0.95);
    s[`${key}_p99`] = quantileMs(h, 0.99);
  }
  const avg = (h: Hist | undefined) => {
    const n = h?.count[h.count.length - 1] ?? 0;
    return h === undefined || n === 0 ? null : num(h.sum / n);
  };
  s.request_size_avg = avg(p.hist.request_size);
  s.response_size_avg = avg(p.hist.response_size);
  for (const dir of DIRECTIONS) s[TOKEN_RATE_NAMES[dir]] = rate(d[`tokens_${dir}`]);
  const delta: Record<string, unknown> = {};
  for (const f of COUNT_FIELDS) delta[f] = d[f];
  delta.zai_errors = { ...d.zai_errors };
  s.delta = delta;
  if (p.quota !== undefined && Object.keys(p.quota).length > 0) s.quota = cleanQuota(p.quota);
  return s;
}

function cleanQuota(q: Quota): Quota {
  const out: Quota = {};
  for (const w of ['five_hour', 'weekly'] as const) {
    const src = q[w];
    if (src === undefined) continue;
    const win: typeof src = {};
    if (src.limit_type !== undefined) win.limit_type = src.limit_type;
    for (const k of ['usage_ratio', 'remaining_ratio', 'reset_time_unix'] as const) {
      const v = num(src[k]);
      if (v !== null) win[k] = v;
    }
    out[w] = win;
  }
  const age = num(q.sample_age_seconds);
  if (age !== null) out.sample_age_seconds = age;
  if (q.gate_open !== undefined) out.gate_open = q.gate_open;
  if (q.enforcement === true) out.enforcement = true;
  return out;
}
