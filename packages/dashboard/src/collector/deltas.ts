// One target's scrape → what changed since its previous good scrape, per variant. Counter resets are
// detected per series (a series whose value went down restarted from zero, so its whole value is
// the increase, as Prometheus' rate() assumes); a series that appears after the first scrape counts
// in full (prom-client creates a series on its first increment); on the very first scrape every
// delta is 0, since nothing says when those counts happened. Histograms are handled per series
// (labels without `le`) and then summed per bound. Non-finite samples are skipped.
import type { Family, Sample } from '@zai-proxy/prom-text';
import {
  addCounts,
  addHist,
  type CumulativeField,
  type Delta,
  DIRECTIONS,
  type Direction,
  emptyDelta,
  type GaugeName,
  type Hist,
  type HistName,
  type Quota,
  type UsageRow,
} from '../points/point.ts';
import { buildQuota } from './quota.ts';

type Families = Map<string, Family>;

/** What the collector remembers about a target between scrapes. */
export interface SeriesState {
  /** Counter samples by series key. */
  counters: Map<string, number>;
  /** Histogram series by key: cumulative counts per bound, and sum. */
  hists: Map<string, { le: Map<number, number>; sum: number; count: number }>;
  /** Good scrapes so far. */
  scrapes: number;
  lastSuccessMs: number | null;
}

export function newSeriesState(): SeriesState {
  return { counters: new Map(), hists: new Map(), scrapes: 0, lastSuccessMs: null };
}

/** One variant's share of one target's scrape. */
export interface VariantContribution {
  delta: Delta;
  cum: Partial<Record<CumulativeField, number>>;
  gauges: Partial<Record<GaugeName, number>>;
  hist: Partial<Record<HistName, Hist>>;
  /** Tokens and micro-dollars by (model, client). */
  usage: Map<string, UsageRow>;
  quota?: Quota;
}

export interface TargetContribution {
  /** Time since the target's previous good scrape (0 on the first). */
  intervalMs: number;
  byVariant: Map<string, VariantContribution>;
}

const HIST_FAMILIES: Record<string, HistName> = {
  zai_proxy_request_duration_seconds: 'duration',
  zai_proxy_time_to_first_byte_seconds: 'ttfb',
  zai_proxy_overhead_seconds: 'overhead',
  zai_proxy_token_count_duration_seconds: 'token_count',
  zai_proxy_request_size_bytes: 'request_size',
  zai_proxy_response_size_bytes: 'response_size',
};
const GAUGE_FAMILIES: Record<string, GaugeName> = {
  zai_proxy_concurrent_requests: 'concurrent',
  zai_proxy_max_workers: 'max_workers',
  zai_proxy_rate_limit_requests_per_second: 'rate_limit_rps',
};
const DIRECTION_SET = new Set<string>(DIRECTIONS);

const seriesKey = (name: string, labels: Readonly<Record<string, string>>, skip?: string) => {
  let k = name;
  for (const l of Object.keys(labels).sort()) if (l !== skip) k += `\u0000${l}=${labels[l]}`;
  return k;
};

function newContribution(): VariantContribution {
  return { delta: emptyDelta(), cum: {}, gauges: {}, hist: {}, usage: new Map() };
}

/**
 * Folds one good scrape into the target's state and returns the deltas since its previous good
 * scrape. `fallbackVariant` names series without a `variant` label (the target's name).
 */
export function applyScrape(
  state: SeriesState,
  families: Families,
  nowMs: number,
  fallbackVariant: string,
): TargetContribution {
  const first = state.scrapes === 0;
  const intervalMs = state.lastSuccessMs === null ? 0 : Math.max(0, nowMs - state.lastSuccessMs);
  const byVariant = new Map<string, VariantContribution>();
  const forVariant = (s: Sample) => {
    const v = s.labels.variant ?? fallbackVariant;
    let c = byVariant.get(v);
    if (c === undefined) {
      c = newContribution();
      byVariant.set(v, c);
    }
    return c;
  };
  const nextCounters = new Map<string, number>();
  /** Increase of a counter sample since the previous scrape, reset-aware. */
  const inc = (s: Sample): number => {
    if (!Number.isFinite(s.value) || s.value < 0) return 0;
    const key = seriesKey(s.name, s.labels);
    nextCounters.set(key, s.value);
    const prev = state.counters.get(key);
    if (prev === undefined) return first ? 0 : s.value;
    return s.value >= prev ? s.value - prev : s.value;
  };
  const addCum = (c: VariantContribution, f: CumulativeField, v: number) => {
    if (Number.isFinite(v)) c.cum[f] = (c.cum[f] ?? 0) + v;
  };
  const counter = (name: string, each: (s: Sample, c: VariantContribution, d: number) => void) => {
    for (const s of families.get(name)?.samples ?? []) {
      if (s.name !== name) continue; // e.g. a `_created` sample
      const c = forVariant(s);
      each(s, c, inc(s));
    }
  };

  counter('zai_proxy_requests_total', (s, c, d) => {
    const code = s.labels.status_code ?? '';
    const cls = code[0];
    const dl = c.delta;
    dl.requests += d;
    if (code !== '') dl.status[code] = (dl.status[code] ?? 0) + d;
    if (cls === '2') dl.requests_2xx += d;
    else if (cls === '4') dl.requests_4xx += d;
    else if (cls === '5') {
      dl.requests_5xx += d;
      dl.errors += d;
    }
    if (code === '429') dl.requests_429 += d;
    if (cls === '2' || cls === '4' || cls === '5') addCum(c, `requests_${cls}xx` as CumulativeField, s.value);
  });
  counter('zai_proxy_upstream_errors_total', (s, c, d) => {
    c.delta.upstream_errors += d;
    addCum(c, 'upstream_errors', s.value);
    // The connection broke after the client had its headers: a broken stream, an error the
    // client saw although its status said 200.
    if (s.labels.error_type === 'read_error') {
      c.delta.broken_streams += d;
      c.delta.errors += d;
    }
  });
  counter('zai_proxy_retry_attempts_total', (s, c, d) => {
    if (s.labels.reason !== 'retry') return; // the other reasons count scheduling, not retries
    c.delta.retries += d;
    addCum(c, 'retry_attempts', s.value);
  });
  counter('zai_proxy_client_aborts_total', (_s, c, d) => {
    c.delta.client_aborts += d;
  });
  counter('zai_proxy_rate_limit_rejections_total', (s, c, d) => {
    c.delta.rate_limit_rejections += d;
    addCum(c, 'rate_limit_rejections', s.value);
  });
  counter('zai_proxy_rate_limit_adjustments_total', (s, c, d) => {
    const dir = s.labels.direction;
    if (dir !== 'increase' && dir !== 'decrease') return;
    c.delta[`rate_limit_adj_${dir}`] += d;
    addCum(c, `rate_limit_adj_${dir}`, s.value);
  });
  counter('zai_proxy_zai_errors_total', (s, c, d) => {
    const cls = s.labels.class ?? 'unknown';
    if (d > 0) addCounts(c.delta.zai_errors, { [cls]: d });
  });
  const usageRow = (c: VariantContribution, s: Sample): UsageRow => {
    const model = s.labels.model ?? '';
    const client = s.labels.client ?? '';
    const key = `${model}\u0000${client}`;
    let row = c.usage.get(key);
    if (row === undefined) {
      row = { ts: 0, variant: '', model, client, tokens: [0, 0, 0, 0], micro: [0, 0, 0, 0] };
      c.usage.set(key, row);
    }
    return row;
  };
  counter('zai_proxy_tokens_total', (s, c, d) => {
    const dir = s.labels.direction ?? '';
    if (!DIRECTION_SET.has(dir)) return;
    const i = DIRECTIONS.indexOf(dir as Direction);
    usageRow(c, s).tokens[i]! += d;
    c.delta[`tokens_${dir as Direction}`] += d;
    addCum(c, `tokens_${dir as Direction}`, s.value);
  });
  // Cost: each series' cumulative USD is rounded to micro-dollars and differenced, so the deltas
  // telescope: any number of intervals adds up to exactly round(last) − round(first).
  for (const s of families.get('zai_proxy_estimated_cost_usd_total')?.samples ?? []) {
    if (s.name !== 'zai_proxy_estimated_cost_usd_total') continue;
    const dir = s.labels.direction ?? '';
    if (!DIRECTION_SET.has(dir) || !Number.isFinite(s.value) || s.value < 0) continue;
    const c = forVariant(s);
    const micro = Math.round(s.value * 1e6);
    const d = inc({ ...s, value: micro });
    const i = DIRECTIONS.indexOf(dir as Direction);
    usageRow(c, s).micro[i]! += d;
    c.delta[`cost_micro_usd_${dir as Direction}`] += d;
    addCum(c, `estimated_cost_usd_${dir as Direction}`, s.value);
  }

  for (const [family, g] of Object.entries(GAUGE_FAMILIES)) {
    for (const s of families.get(family)?.samples ?? []) {
      if (!Number.isFinite(s.value)) continue;
      const c = forVariant(s);
      c.gauges[g] = (c.gauges[g] ?? 0) + s.value;
    }
  }

  const nextHists: SeriesState['hists'] = new Map();
  for (const [family, h] of Object.entries(HIST_FAMILIES)) {
    const f = families.get(family);
    if (f === undefined) continue;
    const series = new Map<string, { sample: Sample; le: Map<number, number>; sum: number; count: number }>();
    for (const s of f.samples) {
      const key = seriesKey(family, s.labels, 'le');
      let e = series.get(key);
      if (e === undefined) {
        e = { sample: s, le: new Map(), sum: 0, count: 0 };
        series.set(key, e);
      }
      if (s.name === `${family}_bucket`) {
        const bound = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
        if (!Number.isNaN(bound) && Number.isFinite(s.value)) e.le.set(bound, s.value);
      } else if (s.name === `${family}_sum` && Number.isFinite(s.value)) e.sum = s.value;
      else if (s.name === `${family}_count` && Number.isFinite(s.value)) e.count = s.value;
    }
    for (const [key, e] of series) {
      nextHists.set(key, { le: e.le, sum: e.sum, count: e.count });
      const prev = state.hists.get(key);
      const reset =
        prev !== undefined && (e.count < prev.count || [...e.le].some(([b, v]) => v < (prev.le.get(b) ?? 0)));
      const base = reset || prev === undefined ? null : prev;
      if (prev === undefined && first) continue;
      const le = [...e.le.keys()].sort((a, b) => a - b);
      if (le.length === 0) continue;
      const delta: Hist = {
        le,
        count: le.map((b) => e.le.get(b)! - (base?.le.get(b) ?? 0)),
        sum: e.sum - (base?.sum ?? 0),
      };
      const c = forVariant(e.sample);
      c.hist[h] = addHist(c.hist[h], delta);
    }
  }

  for (const [v, c] of byVariant) {
    const q = buildQuota(families, v);
    if (q !== undefined) c.quota = q;
  }
  // Counters that vanished are forgotten (a later reappearance then counts from zero).
  state.counters = nextCounters;
  state.hists = nextHists;
  state.scrapes++;
  state.lastSuccessMs = nowMs;
  return { intervalMs, byVariant };
}
