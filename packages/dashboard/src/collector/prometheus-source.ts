// PROMETHEUS_URL: the same ticks from a Prometheus server instead of scraping proxies. One instant
// query, {__name__=~"zai_proxy_.+"}, returns the latest sample of every zai_proxy_* series of every
// replica (the `instance` label keeps replicas apart); those go through the same per-series delta
// logic as a scrape (deltas.ts). So counts are exact (no rate() extrapolation) and resets are found
// per series; the price is a lag of up to one Prometheus scrape interval behind the proxies.
import type { Family, Sample } from '@zai-proxy/prom-text';
import { parseValue } from '@zai-proxy/prom-text';
import { addDelta, addHist, emptyPoint, type HistName, type Point, type UsageRow } from '../points/point.ts';
import { applyScrape, newSeriesState } from './deltas.ts';
import { fetchText } from './fetch-text.ts';
import { displayUrl } from './scrape-source.ts';
import type { Source, TargetHealth, Tick } from './source.ts';

const QUERY = '{__name__=~"zai_proxy_.+"}';
const HISTOGRAMS = new Set([
  'zai_proxy_request_duration_seconds',
  'zai_proxy_time_to_first_byte_seconds',
  'zai_proxy_overhead_seconds',
  'zai_proxy_token_count_duration_seconds',
  'zai_proxy_request_size_bytes',
  'zai_proxy_response_size_bytes',
  'zai_proxy_token_rate_seconds',
  'zai_proxy_token_rate',
  'zai_proxy_rate_limit_wait_seconds',
]);

export interface PrometheusSourceOptions {
  url: string;
  timeoutMs: number;
  maxBytes: number;
  fetch?: (url: string, timeoutMs: number, maxBytes: number) => Promise<string>;
}

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** A Prometheus instant-query vector as parsed exposition families (histograms under their base name). */
export function vectorToFamilies(body: string): Map<string, Family> {
  const parsed = JSON.parse(body) as PromVector;
  if (parsed.status !== 'success' || parsed.data === undefined)
    throw new Error(`query failed: ${parsed.error ?? parsed.status}`);
  if (parsed.data.resultType !== 'vector')
    throw new Error(`expected a vector, got ${parsed.data.resultType}`);
  const families = new Map<string, Family>();
  for (const r of parsed.data.result) {
    const { __name__: name, ...labels } = r.metric;
    if (name === undefined) continue;
    const value = parseValue(r.value[1]);
    if (value === undefined) continue;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = base !== name && HISTOGRAMS.has(base) ? base : name;
    let f = families.get(family);
    if (f === undefined) {
      f = { name: family, type: family === name ? 'untyped' : 'histogram', help: '', samples: [] };
      families.set(family, f);
    }
    f.samples.push({ name, labels, value } satisfies Sample);
  }
  return families;
}

export function createPrometheusSource(opts: PrometheusSourceOptions): Source {
  const fetch = opts.fetch ?? fetchText;
  const base = opts.url.replace(/\/+$/, '');
  const series = newSeriesState();
  const health: TargetHealth = {
    name: 'prometheus',
    url: displayUrl(base),
    variants: [],
    up: false,
    last_scrape: null,
    last_success: null,
    duration_ms: null,
    last_error: null,
    consecutive_failures: 0,
  };
  return {
    kind: 'prometheus',
    async collect(nowMs, clock = Date.now): Promise<Tick> {
      const started = clock();
      health.last_scrape = nowMs;
      try {
        const q = `${base}/api/v1/query?query=${encodeURIComponent(QUERY)}&time=${(nowMs / 1000).toFixed(3)}`;
        const families = vectorToFamilies(await fetch(q, opts.timeoutMs, opts.maxBytes));
        const c = applyScrape(series, families, nowMs, 'unknown');
        const instances = new Map<string, Set<string>>();
        for (const f of families.values())
          for (const s of f.samples) {
            const v = s.labels.variant ?? 'unknown';
            const set = instances.get(v) ?? new Set<string>();
            set.add(s.labels.instance ?? '');
            instances.set(v, set);
          }
        const points: Point[] = [];
        const usage: UsageRow[] = [];
        for (const [variant, vc] of c.byVariant) {
          const p = emptyPoint(nowMs, variant, c.intervalMs);
          p.targetsUp = p.targetsTotal = instances.get(variant)?.size ?? 0;
          addDelta(p.delta, vc.delta);
          p.cum = vc.cum;
          for (const g in vc.gauges)
            p.gauges[g as keyof typeof vc.gauges] = { sum: vc.gauges[g as keyof typeof vc.gauges]!, n: 1 };
          for (const h in vc.hist) p.hist[h as HistName] = addHist(undefined, vc.hist[h as HistName]);
          if (vc.quota !== undefined) p.quota = vc.quota;
          points.push(p);
          for (const row of vc.usage.values()) usage.push({ ...row, ts: nowMs, variant });
        }
        health.up = true;
        health.last_success = nowMs;
        health.last_error = null;
        health.consecutive_failures = 0;
        health.variants = [...c.byVariant.keys()].sort();
        return { ts: nowMs, points: points.sort((a, b) => (a.variant < b.variant ? -1 : 1)), usage };
      } catch (err) {
        health.up = false;
        health.consecutive_failures++;
        health.last_error = (err as Error).message;
        return { ts: nowMs, points: [], usage: [] };
      } finally {
        health.duration_ms = Math.max(0, clock() - started);
      }
    },
    targets: () => [{ ...health, variants: [...health.variants] }],
  };
}
