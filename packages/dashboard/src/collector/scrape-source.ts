// Scrapes every target concurrently, turns each good scrape into per-variant deltas and combines the
// targets of a variant into one point: counts and histograms add, gauges add across replicas
// (utilisation is derived later as in-flight ÷ max), usage rows merge by model and client.
import { PromParseError, parsePrometheusText } from '@zai-proxy/prom-text';
import type { ScrapeTarget } from '../config.ts';
import { addDelta, addHist, emptyPoint, type HistName, type Point, type UsageRow } from '../points/point.ts';
import { applyScrape, newSeriesState, type SeriesState, type VariantContribution } from './deltas.ts';
import { fetchText, ScrapeError } from './fetch-text.ts';
import type { Source, TargetHealth, Tick } from './source.ts';

export interface ScrapeSourceOptions {
  targets: readonly ScrapeTarget[];
  timeoutMs: number;
  maxBytes: number;
  /** Injectable for tests; defaults to an HTTP GET with timeout and body cap. */
  fetch?: (url: string, timeoutMs: number, maxBytes: number) => Promise<string>;
}

interface TargetState {
  target: ScrapeTarget;
  series: SeriesState;
  health: TargetHealth;
}

/** The collector's source when it scrapes proxies itself. */
export function createScrapeSource(opts: ScrapeSourceOptions): Source {
  const fetch = opts.fetch ?? fetchText;
  const states: TargetState[] = opts.targets.map((target) => ({
    target,
    series: newSeriesState(),
    health: {
      name: target.name,
      url: displayUrl(target.url),
      variants: [],
      up: false,
      last_scrape: null,
      last_success: null,
      duration_ms: null,
      last_error: null,
      consecutive_failures: 0,
    },
  }));

  async function scrapeOne(s: TargetState, nowMs: number, clock: () => number) {
    const started = clock();
    s.health.last_scrape = nowMs;
    try {
      const text = await fetch(s.target.url, opts.timeoutMs, opts.maxBytes);
      const families = parsePrometheusText(text);
      const contribution = applyScrape(s.series, families, nowMs, s.target.name);
      s.health.up = true;
      s.health.last_success = nowMs;
      s.health.last_error = null;
      s.health.consecutive_failures = 0;
      s.health.variants = [...contribution.byVariant.keys()].sort();
      return contribution;
    } catch (err) {
      s.health.up = false;
      s.health.consecutive_failures++;
      s.health.last_error =
        err instanceof PromParseError
          ? `parse error at ${err.message}`
          : err instanceof ScrapeError
            ? err.message
            : String((err as Error).message ?? err);
      return null;
    } finally {
      s.health.duration_ms = Math.max(0, clock() - started);
    }
  }

  return {
    kind: 'scrape',
    async collect(nowMs, clock = Date.now) {
      const results = await Promise.all(states.map((s) => scrapeOne(s, nowMs, clock)));
      const points = new Map<string, Point>();
      const usage = new Map<string, UsageRow>();
      for (let i = 0; i < states.length; i++) {
        const r = results[i];
        if (r === null || r === undefined) continue;
        for (const [variant, c] of r.byVariant) {
          let p = points.get(variant);
          if (p === undefined) {
            p = emptyPoint(nowMs, variant, 0);
            points.set(variant, p);
          }
          p.intervalMs = Math.max(p.intervalMs, r.intervalMs);
          p.targetsUp++;
          addContribution(p, c);
          for (const row of c.usage.values()) {
            const key = `${variant}\u0000${row.model}\u0000${row.client}`;
            const acc = usage.get(key);
            if (acc === undefined)
              usage.set(key, { ...row, ts: nowMs, variant, tokens: [...row.tokens], micro: [...row.micro] });
            else
              for (let d = 0; d < 4; d++) {
                acc.tokens[d]! += row.tokens[d]!;
                acc.micro[d]! += row.micro[d]!;
              }
          }
        }
      }
      for (const p of points.values()) {
        p.targetsTotal = states.filter((s) => s.health.variants.includes(p.variant)).length;
      }
      return {
        ts: nowMs,
        points: [...points.values()].sort((a, b) => (a.variant < b.variant ? -1 : 1)),
        usage: [...usage.values()],
      } satisfies Tick;
    },
    targets: () => states.map((s) => ({ ...s.health, variants: [...s.health.variants] })),
  };
}

function addContribution(p: Point, c: VariantContribution): void {
  addDelta(p.delta, c.delta);
  for (const k in c.cum) {
    const f = k as keyof typeof c.cum;
    p.cum[f] = (p.cum[f] ?? 0) + c.cum[f]!;
  }
  for (const k in c.gauges) {
    const g = k as keyof typeof c.gauges;
    // Replicas add up (in-flight, capacity, rate); one sample per tick.
    p.gauges[g] ??= { sum: 0, n: 1 };
    p.gauges[g].sum += c.gauges[g]!;
  }
  for (const k in c.hist) {
    const h = k as HistName;
    p.hist[h] = addHist(p.hist[h], c.hist[h]);
  }
  if (c.quota !== undefined) p.quota = c.quota;
}

/** A URL fit for /api/config and logs: no user-info, no query string. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
