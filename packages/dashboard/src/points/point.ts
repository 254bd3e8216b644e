// The unit of history: what one variant did over one interval (a scrape interval for raw points,
// a minute or more for rollups). Counts are deltas, so points merge by adding; histograms are
// cumulative bucket deltas summed across series; gauges keep a sum and a sample count so a merged
// point holds their mean. Everything the API shows is derived from this (snapshot.ts).
import type { Buckets } from '@zai-proxy/prom-text';

export const DIRECTIONS = ['input', 'output', 'cache_read', 'cache_write'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** A histogram's change over the interval: cumulative counts per upper bound (+Inf last) and the sum. */
export interface Hist extends Buckets {
  sum: number;
}

export const HISTOGRAMS = [
  'duration',
  'ttfb',
  'overhead',
  'token_count',
  'request_size',
  'response_size',
] as const;
export type HistName = (typeof HISTOGRAMS)[number];

/** Integer counts of what happened in the interval. */
export interface Delta {
  requests: number;
  requests_2xx: number;
  requests_4xx: number;
  requests_5xx: number;
  /** 5xx answers plus broken streams: what the canary verdict calls an error. */
  errors: number;
  requests_429: number;
  broken_streams: number;
  client_aborts: number;
  upstream_errors: number;
  retries: number;
  rate_limit_rejections: number;
  rate_limit_adj_increase: number;
  rate_limit_adj_decrease: number;
  tokens_input: number;
  tokens_output: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  cost_micro_usd_input: number;
  cost_micro_usd_output: number;
  cost_micro_usd_cache_read: number;
  cost_micro_usd_cache_write: number;
  /** Requests by status code. */
  status: Record<string, number>;
  /** Classified Z.AI errors by class. */
  zai_errors: Record<string, number>;
}

export type CountField = Exclude<keyof Delta, 'status' | 'zai_errors'>;
export const COUNT_FIELDS: readonly CountField[] = [
  'requests',
  'requests_2xx',
  'requests_4xx',
  'requests_5xx',
  'errors',
  'requests_429',
  'broken_streams',
  'client_aborts',
  'upstream_errors',
  'retries',
  'rate_limit_rejections',
  'rate_limit_adj_increase',
  'rate_limit_adj_decrease',
  'tokens_input',
  'tokens_output',
  'tokens_cache_read',
  'tokens_cache_write',
  'cost_micro_usd_input',
  'cost_micro_usd_output',
  'cost_micro_usd_cache_read',
  'cost_micro_usd_cache_write',
];

/** Cumulative counter values as the proxies report them (summed over targets), for the original's fields. */
export const CUMULATIVE_FIELDS = [
  'requests_2xx',
  'requests_4xx',
  'requests_5xx',
  'tokens_input',
  'tokens_output',
  'tokens_cache_read',
  'tokens_cache_write',
  'estimated_cost_usd_input',
  'estimated_cost_usd_output',
  'estimated_cost_usd_cache_read',
  'estimated_cost_usd_cache_write',
  'rate_limit_rejections',
  'rate_limit_adj_increase',
  'rate_limit_adj_decrease',
  'upstream_errors',
  'retry_attempts',
] as const;
export type CumulativeField = (typeof CUMULATIVE_FIELDS)[number];

/** A gauge over the interval: sum of the samples and how many there were (mean = sum / n). */
export interface GaugeAcc {
  sum: number;
  n: number;
}
export const GAUGES = ['concurrent', 'max_workers', 'rate_limit_rps'] as const;
export type GaugeName = (typeof GAUGES)[number];

/** The original's quota block (every key optional; absent stays distinguishable from zero). */
export interface QuotaWindow {
  limit_type?: string;
  usage_ratio?: number;
  remaining_ratio?: number;
  reset_time_unix?: number;
}
export interface Quota {
  five_hour?: QuotaWindow;
  weekly?: QuotaWindow;
  sample_age_seconds?: number;
  gate_open?: boolean;
  enforcement?: true;
}

export interface Point {
  /** Start of the scrape (raw) or of the bucket (rollup), Unix ms. */
  ts: number;
  variant: string;
  /** Length of time the deltas cover. */
  intervalMs: number;
  targetsUp: number;
  targetsTotal: number;
  cum: Partial<Record<CumulativeField, number>>;
  gauges: Partial<Record<GaugeName, GaugeAcc>>;
  delta: Delta;
  hist: Partial<Record<HistName, Hist>>;
  quota?: Quota;
}

/** Tokens and micro-dollars of one (variant, model, client) over one interval. */
export interface UsageRow {
  ts: number;
  variant: string;
  model: string;
  /** '' when the series carry no `client` label. */
  client: string;
  tokens: [number, number, number, number];
  micro: [number, number, number, number];
}

export function emptyDelta(): Delta {
  const d = { status: {}, zai_errors: {} } as unknown as Delta;
  for (const f of COUNT_FIELDS) d[f] = 0;
  return d;
}

export function emptyPoint(ts: number, variant: string, intervalMs: number): Point {
  return {
    ts,
    variant,
    intervalMs,
    targetsUp: 0,
    targetsTotal: 0,
    cum: {},
    gauges: {},
    delta: emptyDelta(),
    hist: {},
  };
}

/** a += b for counts keyed by name. */
export function addCounts(a: Record<string, number>, b: Readonly<Record<string, number>>): void {
  for (const k in b) a[k] = (a[k] ?? 0) + b[k]!;
}

export function addDelta(a: Delta, b: Delta): void {
  for (const f of COUNT_FIELDS) a[f] += b[f];
  addCounts(a.status, b.status);
  addCounts(a.zai_errors, b.zai_errors);
}

/** a + b of two histograms of one metric; bounds missing on one side count as that side's next lower count. */
export function addHist(a: Hist | undefined, b: Hist | undefined): Hist | undefined {
  if (a === undefined)
    return b === undefined ? undefined : { le: [...b.le], count: [...b.count], sum: b.sum };
  if (b === undefined) return a;
  if (a.le.length === b.le.length && a.le.every((x, i) => x === b.le[i])) {
    return { le: a.le, count: a.count.map((c, i) => c + b.count[i]!), sum: a.sum + b.sum };
  }
  // Different layouts (two proxy versions): the union of bounds, each side's cumulative count at a
  // bound it lacks being its count at the next lower bound it has.
  const le = [...new Set([...a.le, ...b.le])].sort((x, y) => x - y);
  const at = (h: Hist, bound: number) => {
    let c = 0;
    for (let i = 0; i < h.le.length && h.le[i]! <= bound; i++) c = h.count[i]!;
    return c;
  };
  return { le, count: le.map((x) => at(a, x) + at(b, x)), sum: a.sum + b.sum };
}

/**
 * Merges points of one variant into one covering all of them (rollups, coarser steps): counts and
 * histograms add, gauges pool their samples, cumulative values and targets come from the newest.
 */
export function mergePoints(ts: number, points: readonly Point[]): Point {
  const first = points[0]!;
  const out = emptyPoint(ts, first.variant, 0);
  let newest = first;
  let quotaTs = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    if (p.quota !== undefined && p.ts >= quotaTs) {
      out.quota = p.quota;
      quotaTs = p.ts;
    }
    out.intervalMs += p.intervalMs;
    addDelta(out.delta, p.delta);
    for (const h in p.hist) {
      const k = h as HistName;
      out.hist[k] = addHist(out.hist[k], p.hist[k]);
    }
    for (const g in p.gauges) {
      const k = g as GaugeName;
      out.gauges[k] ??= { sum: 0, n: 0 };
      const acc = out.gauges[k];
      acc.sum += p.gauges[k]!.sum;
      acc.n += p.gauges[k]!.n;
    }
    if (p.ts >= newest.ts) newest = p;
  }
  out.cum = { ...newest.cum };
  out.targetsUp = newest.targetsUp;
  out.targetsTotal = newest.targetsTotal;
  return out;
}
