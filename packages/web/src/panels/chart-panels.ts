// The time-series panels as data: what each one plots, in which unit, and what it says when the API
// carries none of its fields. Panels with their own layout (quota, canary, usage, targets) are components.
import type { Delta, Num, Snapshot } from '../api/types.ts';
import type { SeriesDef } from '../charts/aligned.ts';
import { colorAt, PALETTE } from '../charts/theme-colors.ts';
import { formatCount, formatMs, formatRate, formatRatio, formatUsd } from '../lib/format.ts';

export type Formatter = (v: number | null | undefined) => string;

export interface ChartPanelDef {
  id: string;
  title: string;
  format: Formatter;
  /** Fixed series, or series derived from the keys of a map field seen in the data. */
  series: readonly SeriesDef[] | ((points: readonly Snapshot[]) => SeriesDef[]);
  /** Said when no point in range carries any of this panel's fields. */
  missing: string;
  yMax?: number;
  wide?: boolean;
  /** The headline figure, when it is not the first series (e.g. the total request rate). */
  headline?: SeriesDef;
  /**
   * A headline over the whole range instead of the latest point, for ratios whose per-interval value
   * jumps between 0 and large on sparse traffic (request-weighted, from the deltas).
   */
  windowValue?: { label: string; of: (points: readonly Snapshot[]) => Num };
  /** A line under the chart, e.g. which of its figures the API does not carry yet. */
  note?: string;
}

function classRate(s: Snapshot, cls: '2xx' | '3xx' | '4xx' | '5xx'): Num | undefined {
  if (s.status_code_rates === undefined) return undefined;
  let sum = 0;
  for (const [code, r] of Object.entries(s.status_code_rates))
    if (code[0] === cls[0] && typeof r === 'number') sum += r;
  return sum;
}

/** A count from the point's interval as a per-second rate; undefined when the point has no delta. */
function perSecond(s: Snapshot, count: (d: Delta) => number | undefined): Num | undefined {
  if (s.delta === undefined) return undefined;
  const c = count(s.delta);
  const sec = s.interval_seconds;
  if (typeof c !== 'number') return undefined;
  return typeof sec === 'number' && sec > 0 ? c / sec : null;
}

const costMicro = (d: Delta) =>
  d.cost_micro_usd_input +
  d.cost_micro_usd_output +
  d.cost_micro_usd_cache_read +
  d.cost_micro_usd_cache_write;

/** Token-weighted cache hit ratio of one interval: cache read ÷ (uncached input + cache read). */
export function cacheHitRatio(s: Snapshot): Num | undefined {
  if (s.delta === undefined) return undefined;
  const den = s.delta.tokens_input + s.delta.tokens_cache_read;
  return den > 0 ? s.delta.tokens_cache_read / den : null;
}

/** Σ numerator ÷ Σ denominator over the points' deltas; null when the denominator is 0. */
function deltaRatio(points: readonly Snapshot[], num: (d: Delta) => number, den: (d: Delta) => number): Num {
  let n = 0;
  let m = 0;
  for (const p of points) {
    if (p.delta === undefined) continue;
    n += num(p.delta);
    m += den(p.delta);
  }
  return m > 0 ? n / m : null;
}

/** Sum of counts some servers may not send; undefined when none of them is there. */
function sumOf(...xs: (number | undefined)[]): number | undefined {
  let sum: number | undefined;
  for (const x of xs) if (typeof x === 'number') sum = (sum ?? 0) + x;
  return sum ?? (xs.length === 0 ? 0 : undefined);
}

/** One series per key of a by-label count map seen in the range (Z.AI classes, refusal reasons), per second. */
function keyedSeries(
  points: readonly Snapshot[],
  map: (d: Delta) => Record<string, number> | undefined,
  prefix: string,
): SeriesDef[] {
  const keys = new Set<string>();
  for (const p of points)
    if (p.delta !== undefined) for (const k of Object.keys(map(p.delta) ?? {})) keys.add(k);
  return [...keys].sort().map((k, i) => ({
    key: `${prefix}.${k}`,
    label: k,
    color: colorAt(i),
    get: (s: Snapshot) => perSecond(s, (d) => map(d)?.[k] ?? 0),
  }));
}

const fmtPerSec: Formatter = (v) => formatRate(v);
const fmtTokPerSec: Formatter = (v) => formatRate(v, ' tok/s');
const fmtUsdPerHour: Formatter = (v) => (v == null || !Number.isFinite(v) ? '—' : `${formatUsd(v)}/h`);
const fmtRatio: Formatter = (v) => formatRatio(v);

export const CHART_PANELS: readonly ChartPanelDef[] = [
  {
    id: 'requests',
    title: 'Request rate by status',
    format: fmtPerSec,
    missing: 'The dashboard reports no request rates for this range yet.',
    headline: { key: 'total', label: 'requests', color: PALETTE.slate, get: (s) => s.req_rate },
    series: [
      { key: 'c2', label: '2xx', color: PALETTE.green, get: (s) => classRate(s, '2xx') },
      { key: 'c4', label: '4xx', color: PALETTE.orange, get: (s) => classRate(s, '4xx') },
      { key: 'c5', label: '5xx', color: PALETTE.red, get: (s) => classRate(s, '5xx') },
    ],
  },
  {
    id: 'error-ratio',
    title: 'Error ratio',
    format: (v) => (v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}%`),
    missing: 'No requests in this range, so no error ratio.',
    note: 'Errors are 5xx answers and broken streams; passed-through 4xx and 429 are not counted.',
    windowValue: {
      label: 'over the range',
      of: (pts) => {
        const r = deltaRatio(
          pts,
          (d) => d.errors,
          (d) => d.requests,
        );
        return r === null ? null : r * 100;
      },
    },
    series: [{ key: 'err', label: 'errors', color: PALETTE.red, get: (s) => s.error_rate_pct }],
  },
  {
    id: 'latency',
    title: 'Latency and time to first byte',
    format: formatMs,
    missing: 'No latency figures in this range (no completed requests).',
    series: [
      { key: 'p50', label: 'p50', color: PALETTE.blue, get: (s) => s.latency_p50 },
      { key: 'p95', label: 'p95', color: PALETTE.orange, get: (s) => s.latency_p95 },
      { key: 'p99', label: 'p99', color: PALETTE.red, get: (s) => s.latency_p99 },
      { key: 'ttfb50', label: 'TTFB p50', color: PALETTE.cyan, get: (s) => s.ttfb_p50 },
      { key: 'ttfb95', label: 'TTFB p95', color: PALETTE.purple, get: (s) => s.ttfb_p95 },
    ],
  },
  {
    id: 'tokens',
    title: 'Token throughput',
    format: fmtTokPerSec,
    missing: 'No token counts in this range.',
    series: [
      { key: 'in', label: 'input', color: PALETTE.cyan, get: (s) => s.token_rate_in },
      { key: 'out', label: 'output', color: PALETTE.purple, get: (s) => s.token_rate_out },
      { key: 'cr', label: 'cache read', color: PALETTE.orange, get: (s) => s.token_rate_cache_read },
      { key: 'cw', label: 'cache write', color: PALETTE.green, get: (s) => s.token_rate_cache_write },
    ],
  },
  {
    id: 'cost',
    title: 'Cost rate',
    format: fmtUsdPerHour,
    missing: 'The dashboard reports no cost rate yet.',
    series: [
      {
        key: 'cost',
        label: 'estimated spend',
        color: PALETTE.green,
        get: (s) => {
          const r = perSecond(s, costMicro);
          return typeof r === 'number' ? (r * 3600) / 1e6 : r;
        },
      },
    ],
  },
  {
    id: 'cache',
    title: 'Cache hit ratio',
    format: fmtRatio,
    yMax: 1,
    missing: 'No cache figures in this range (no input tokens counted).',
    note: 'Token-weighted: cache-read tokens ÷ (uncached input + cache-read tokens).',
    windowValue: {
      label: 'over the range',
      of: (pts) =>
        deltaRatio(
          pts,
          (d) => d.tokens_cache_read,
          (d) => d.tokens_input + d.tokens_cache_read,
        ),
    },
    series: [{ key: 'hit', label: 'hit ratio', color: PALETTE.blue, get: cacheHitRatio }],
  },
  {
    id: 'concurrency',
    title: 'Concurrency and queue',
    format: formatCount,
    missing: 'No concurrency figures in this range.',
    note: 'In flight counts requests inside the proxy, queued ones included, up to MAX_WORKERS (in the numbers below); the adaptive limit caps attempts in flight to Z.AI.',
    series: [
      { key: 'inflight', label: 'in flight', color: PALETTE.blue, get: (s) => s.concurrent_requests },
      // MAX_WORKERS (256 by default) would flatten the other lines to the floor: table only
      { key: 'max', label: 'MAX_WORKERS', color: PALETTE.slate, get: (s) => s.max_workers, chart: false },
      { key: 'adaptive', label: 'adaptive limit', color: PALETTE.orange, get: (s) => s.concurrency_limit },
      { key: 'queue', label: 'queued', color: PALETTE.purple, get: (s) => s.queue_depth },
    ],
  },
  {
    id: 'queue-wait',
    title: 'Queue wait',
    format: formatMs,
    missing: 'No queue wait figures in this range (nothing was admitted, or admission is off).',
    note: 'Wait of each admitted attempt for the queue, a rate token and a concurrency slot.',
    series: [
      { key: 'wait50', label: 'wait p50', color: PALETTE.cyan, get: (s) => s.queue_wait_p50 },
      { key: 'wait95', label: 'wait p95', color: PALETTE.purple, get: (s) => s.queue_wait_p95 },
    ],
  },
  {
    id: 'limiter',
    title: 'Rate limiter',
    format: fmtPerSec,
    missing: 'No rate-limiter figures in this range.',
    note: 'Rate is the token bucket’s req/s; rejections are every admission refusal; adjustments are the rate and concurrency controllers’ decisions.',
    series: [
      { key: 'rps', label: 'rate', color: PALETTE.blue, get: (s) => s.rate_limit_rps },
      {
        key: 'rej',
        label: 'rejections',
        color: PALETTE.red,
        get: (s) => perSecond(s, (d) => d.rate_limit_rejections),
      },
      {
        key: 'radj',
        label: 'rate adjustments',
        color: PALETTE.slate,
        get: (s) => perSecond(s, (d) => sumOf(d.rate_limit_adj_increase, d.rate_limit_adj_decrease)),
      },
      {
        key: 'cadj',
        label: 'limit adjustments',
        color: PALETTE.orange,
        get: (s) =>
          perSecond(s, (d) =>
            d.concurrency_adjustments === undefined
              ? undefined
              : sumOf(...Object.values(d.concurrency_adjustments)),
          ),
      },
    ],
  },
  {
    id: 'refusals',
    title: 'Admission refusals',
    format: fmtPerSec,
    missing: 'No requests refused by admission in this range.',
    note: 'max_workers and queue_full answer 503, queue_timeout 429; clients may retry all three.',
    series: (points) => keyedSeries(points, (d) => d.admission_refusals, 'refused'),
  },
  {
    id: 'errors',
    title: 'Upstream errors and retries',
    format: fmtPerSec,
    missing: 'No upstream error or retry figures in this range.',
    series: [
      {
        key: 'uerr',
        label: 'upstream errors',
        color: PALETTE.red,
        get: (s) => perSecond(s, (d) => d.upstream_errors),
      },
      { key: 'retry', label: 'retries', color: PALETTE.slate, get: (s) => perSecond(s, (d) => d.retries) },
      {
        key: 'broken',
        label: 'broken streams',
        color: PALETTE.purple,
        get: (s) => perSecond(s, (d) => d.broken_streams),
      },
      {
        key: '429',
        label: '429 from Z.AI',
        color: PALETTE.orange,
        get: (s) => perSecond(s, (d) => d.requests_429),
      },
    ],
  },
  {
    id: 'zai-classes',
    title: 'Z.AI error classes',
    format: fmtPerSec,
    missing: 'No Z.AI business errors in this range.',
    note: 'Per class (concurrency, frequency, quota…); business codes appear when the API reports them.',
    series: (points) => keyedSeries(points, (d) => d.zai_errors, 'zai'),
  },
];
