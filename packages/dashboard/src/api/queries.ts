// The read side of the API: /api/metrics, /api/status, /api/config, /api/usage, /api/export rows
// and /api/canary, as functions of the store, the source and the clock. HTTP lives in app.ts.
import { decideCanary } from '../canary/verdict.ts';
import { buildWindows } from '../canary/window.ts';
import type { Source } from '../collector/source.ts';
import type { Config } from '../config.ts';
import type { UsageRow } from '../points/point.ts';
import { type ClientUsage, type MetricSnapshot, num, toSnapshot } from '../points/snapshot.ts';
import { MINUTE, type Store, sumUsage } from '../store/store.ts';
import { badParam } from './errors.ts';
import { durationParam, enumParam, nameParam, RANGES, readQuery, timeZoneParam } from './params.ts';
import { usageReport } from './usage-view.ts';

const MAX_POINTS = 1440; // per variant per response
const RAW_MAX_RANGE = 3_600_000; // ranges up to 1 h come from raw points

export interface QueryContext {
  cfg: Config;
  store: Store;
  source: Source;
  clock: () => number;
  version: string;
}

interface Selection {
  rangeText: string;
  start: number;
  end: number;
  variant?: string;
  client?: string;
  resolution: 'raw' | '1m';
  stepMs: number | null;
}

function selection(ctx: QueryContext, q: Map<string, string>, defRange: string): Selection {
  const range = durationParam(q, 'range', defRange, 1000, ctx.cfg.RETENTION_1M);
  const end = ctx.clock();
  const stepText = q.get('step');
  let resolution: 'raw' | '1m' = range.ms <= RAW_MAX_RANGE ? 'raw' : '1m';
  let stepMs: number | null = null;
  if (stepText === 'raw') {
    if (range.ms > ctx.cfg.RETENTION_5S)
      throw badParam('step', 'raw points are kept for RETENTION_5S only; use a shorter range');
    resolution = 'raw';
  } else if (stepText !== undefined) {
    const ms = durationParam(q, 'step', stepText, MINUTE, range.ms).ms;
    if (ms % MINUTE !== 0) throw badParam('step', 'expected whole minutes (1m, 5m, 10m) or raw');
    resolution = '1m';
    stepMs = ms;
  } else if (resolution === '1m') {
    const perPoint = Math.ceil(range.ms / MAX_POINTS / MINUTE) * MINUTE;
    stepMs = perPoint > MINUTE ? perPoint : null;
  }
  return {
    rangeText: range.text,
    start: end - range.ms,
    end,
    variant: nameParam(q, 'variant', true),
    client: nameParam(q, 'client'),
    resolution,
    stepMs,
  };
}

function clientUsage(rows: UsageRow[], bucket: (ts: number) => number): Map<string, ClientUsage> {
  const out = new Map<string, ClientUsage>();
  for (const r of sumUsage(rows, bucket)) {
    const key = `${r.ts}\u0000${r.variant}`;
    const u = out.get(key) ?? {
      tokens_input: 0,
      tokens_output: 0,
      tokens_cache_read: 0,
      tokens_cache_write: 0,
      cost_micro_usd_input: 0,
      cost_micro_usd_output: 0,
      cost_micro_usd_cache_read: 0,
      cost_micro_usd_cache_write: 0,
    };
    u.tokens_input += r.tokens[0];
    u.tokens_output += r.tokens[1];
    u.tokens_cache_read += r.tokens[2];
    u.tokens_cache_write += r.tokens[3];
    u.cost_micro_usd_input += r.micro[0];
    u.cost_micro_usd_output += r.micro[1];
    u.cost_micro_usd_cache_read += r.micro[2];
    u.cost_micro_usd_cache_write += r.micro[3];
    out.set(key, u);
  }
  return out;
}

const ZERO_USAGE: ClientUsage = {
  tokens_input: 0,
  tokens_output: 0,
  tokens_cache_read: 0,
  tokens_cache_write: 0,
  cost_micro_usd_input: 0,
  cost_micro_usd_output: 0,
  cost_micro_usd_cache_read: 0,
  cost_micro_usd_cache_write: 0,
};

function snapshots(ctx: QueryContext, sel: Selection): MetricSnapshot[] {
  const points = ctx.store.points({
    start: sel.start,
    end: sel.end,
    resolution: sel.resolution,
    variant: sel.variant,
    stepMs: sel.stepMs,
  });
  if (sel.client === undefined) return points.map((p) => toSnapshot(p));
  const unit = sel.stepMs ?? (sel.resolution === 'raw' ? null : MINUTE);
  const rows = ctx.store.usage({
    start: sel.start,
    end: sel.end + 1,
    variant: sel.variant,
    client: sel.client,
    resolution: sel.resolution,
  });
  const byKey = clientUsage(rows, unit === null ? (ts) => ts : (ts) => Math.floor(ts / unit) * unit);
  return points.map((p) => toSnapshot(p, byKey.get(`${p.ts}\u0000${p.variant}`) ?? ZERO_USAGE));
}

export const METRICS_PARAMS = ['range', 'variant', 'client', 'step'] as const;

export function metricsQuery(ctx: QueryContext, url: URL): MetricSnapshot[] {
  return snapshots(ctx, selection(ctx, readQuery(url, METRICS_PARAMS), '1h'));
}

export function exportQuery(ctx: QueryContext, url: URL) {
  const q = readQuery(url, ['format', 'kind', 'model', ...METRICS_PARAMS]);
  const format = enumParam(q, 'format', ['json', 'csv'] as const, 'json');
  const kind = enumParam(q, 'kind', ['metrics', 'usage'] as const, 'metrics');
  if (kind === 'metrics' && q.has('model')) throw badParam('model', 'only with kind=usage');
  const sel = selection(ctx, q, '1h');
  const stamp = new Date(sel.end).toISOString().replace(/[-:]/g, '').slice(0, 15);
  const filename = `zai-dashboard-${kind}-${sel.rangeText}-${stamp}.${format}`;
  if (kind === 'metrics') return { kind, format, filename, rows: snapshots(ctx, sel) };
  const rows = ctx.store
    .usage({
      start: sel.start,
      end: sel.end + 1,
      variant: sel.variant,
      client: sel.client,
      model: nameParam(q, 'model'),
    })
    .sort(
      (a, b) =>
        a.ts - b.ts ||
        (a.variant < b.variant ? -1 : 1) ||
        (a.model < b.model ? -1 : 1) ||
        (a.client < b.client ? -1 : 1),
    );
  return { kind, format, filename, rows };
}

export function usageQuery(ctx: QueryContext, url: URL) {
  const q = readQuery(url, ['range', 'variant', 'client', 'model', 'tz']);
  const range = durationParam(q, 'range', '24h', 1000, ctx.cfg.RETENTION_1M);
  const tz = timeZoneParam(q, 'tz', ctx.cfg.REPORT_TIMEZONE);
  // Points are stamped at their scrape and cover the interval before it, so the range is
  // (now − range, now]: as half-open integer ms, [now − range + 1, now + 1).
  const end = ctx.clock() + 1;
  const start = end - range.ms;
  const rows = ctx.store.usage({
    start,
    end,
    variant: nameParam(q, 'variant', true),
    client: nameParam(q, 'client'),
    model: nameParam(q, 'model'),
  });
  return usageReport(rows, start, end, tz);
}

export function statusQuery(ctx: QueryContext) {
  const now = ctx.clock();
  const intervalS = ctx.cfg.SCRAPE_INTERVAL / 1000;
  const targets = ctx.source.targets();
  const variants: Record<string, unknown> = {};
  for (const [name, p] of [...ctx.store.latest()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const s = toSnapshot(p);
    const age = (now - p.ts) / 1000;
    const up = targets.filter((t) => t.up && t.variants.includes(name)).length;
    const v: Record<string, unknown> = {
      healthy: up > 0 && age <= 3 * intervalS,
      last_scrape: new Date(p.ts).toISOString(),
      timestamp: p.ts,
      age_seconds: num(age),
      targets_up: up,
      targets_total: targets.filter((t) => t.variants.includes(name)).length,
      req_rate: s.req_rate,
      error_rate_pct: s.error_rate_pct,
      latency_p50_ms: s.latency_p50,
      concurrent: s.concurrent_requests,
      max_workers: s.max_workers,
      worker_utilization: s.worker_utilization,
      rate_limit_rps: s.rate_limit_rps,
      token_rate_in: s.token_rate_in,
      token_rate_out: s.token_rate_out,
    };
    if (s.quota !== undefined) v.quota = s.quota;
    variants[name] = v;
  }
  return {
    now,
    source: ctx.source.kind,
    scrape_interval: intervalS,
    variants,
    targets: targets.map((t) => ({
      ...t,
      age_seconds: t.last_success === null ? null : num((now - t.last_success) / 1000),
    })),
    storage: ctx.store.status(),
  };
}

export function configQuery(ctx: QueryContext) {
  const c = ctx.cfg;
  return {
    scrape_interval: c.SCRAPE_INTERVAL / 1000,
    scrape_timeout: c.SCRAPE_TIMEOUT / 1000,
    source: ctx.source.kind,
    prometheus_url: c.PROMETHEUS_URL === undefined ? null : (ctx.source.targets()[0]?.url ?? null),
    targets: ctx.source.targets().map((t) => ({ name: t.name, url: t.url })),
    variants: ctx.store.variants(),
    retention_5s_seconds: c.RETENTION_5S / 1000,
    retention_1m_seconds: c.RETENTION_1M / 1000,
    report_timezone: c.REPORT_TIMEZONE,
    canary_min_sample: c.CANARY_MIN_SAMPLE,
    baseline_variant: c.CANARY_BASELINE,
    ranges: RANGES,
    auth_required: c.DASHBOARD_TOKEN !== undefined,
    version: ctx.version,
  };
}

export function canaryQuery(ctx: QueryContext, url: URL) {
  const q = readQuery(url, ['window', 'variant', 'baseline']);
  const window = durationParam(q, 'window', '10m', MINUTE, 86_400_000);
  const baseline = nameParam(q, 'baseline') ?? ctx.cfg.CANARY_BASELINE;
  const only = nameParam(q, 'variant', true);
  if (only === baseline) throw badParam('variant', 'the candidate must differ from the baseline');
  const end = ctx.clock();
  const start = end - window.ms;
  const resolution = window.ms <= RAW_MAX_RANGE ? 'raw' : '1m';
  // Points are stamped at their scrape and cover the interval before it: (start, end].
  const inWindow = (v: string) => ctx.store.points({ start: start + 1, end, variant: v, resolution });
  const raw = (v: string, from: number, to: number) =>
    ctx.store.points({ start: from + 1, end: to, variant: v, resolution: 'raw' });
  const lastTwo = (v: string) => [raw(v, end - 2 * MINUTE, end - MINUTE), raw(v, end - MINUTE, end)] as const;
  const basePoints = { window: inWindow(baseline), minutes: lastTwo(baseline) };
  const candidates = only !== undefined ? [only] : ctx.store.variants().filter((v) => v !== baseline);
  const results = [];
  for (const v of candidates) {
    const own = { window: inWindow(v), minutes: lastTwo(v) };
    if (only === undefined && own.window.length === 0) continue;
    const w = buildWindows(v, baseline, own, basePoints, window.ms);
    results.push(decideCanary({ ...w, nowMs: end, thresholds: { minSample: ctx.cfg.CANARY_MIN_SAMPLE } }));
  }
  return {
    generated_at: end,
    window: window.text,
    start,
    end,
    baseline,
    min_sample: ctx.cfg.CANARY_MIN_SAMPLE,
    results,
  };
}
