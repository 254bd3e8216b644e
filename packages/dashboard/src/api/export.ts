// /api/export: the same rows as /api/metrics (or usage rows) as a JSON or CSV download.
import type { UsageRow } from '../points/point.ts';
import type { MetricSnapshot } from '../points/snapshot.ts';

export const METRIC_COLUMNS = [
  'timestamp',
  'time_utc',
  'variant',
  'interval_seconds',
  'req_rate',
  'error_rate_pct',
  'latency_p50',
  'latency_p95',
  'latency_p99',
  'ttfb_p50',
  'ttfb_p95',
  'ttfb_p99',
  'overhead_p50',
  'overhead_p95',
  'overhead_p99',
  'concurrent_requests',
  'max_workers',
  'worker_utilization',
  'requests',
  'requests_2xx',
  'requests_4xx',
  'requests_5xx',
  'errors',
  'tokens_input',
  'tokens_output',
  'tokens_cache_read',
  'tokens_cache_write',
  'cost_micro_usd_input',
  'cost_micro_usd_output',
  'cost_micro_usd_cache_read',
  'cost_micro_usd_cache_write',
] as const;

export const USAGE_COLUMNS = [
  'timestamp',
  'time_utc',
  'variant',
  'model',
  'client',
  'tokens_input',
  'tokens_output',
  'tokens_cache_read',
  'tokens_cache_write',
  'cost_micro_usd_input',
  'cost_micro_usd_output',
  'cost_micro_usd_cache_read',
  'cost_micro_usd_cache_write',
] as const;

/** One RFC 4180 cell: quoted when it holds a comma, quote or line break; null is empty. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const DELTA = new Set(['requests', 'requests_2xx', 'requests_4xx', 'requests_5xx', 'errors']);

export function metricsCsv(rows: readonly MetricSnapshot[]): string {
  const lines = [METRIC_COLUMNS.join(',')];
  for (const s of rows) {
    const d = s.delta as Record<string, unknown>;
    lines.push(
      METRIC_COLUMNS.map((c) => {
        if (c === 'time_utc') return new Date(s.timestamp).toISOString();
        if (DELTA.has(c) || c.startsWith('tokens_') || c.startsWith('cost_micro_usd_')) return csvCell(d[c]);
        return csvCell(s[c]);
      }).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function usageJson(rows: readonly UsageRow[]) {
  return rows.map((u) => ({
    timestamp: u.ts,
    variant: u.variant,
    model: u.model,
    client: u.client,
    tokens_input: u.tokens[0],
    tokens_output: u.tokens[1],
    tokens_cache_read: u.tokens[2],
    tokens_cache_write: u.tokens[3],
    cost_micro_usd_input: u.micro[0],
    cost_micro_usd_output: u.micro[1],
    cost_micro_usd_cache_read: u.micro[2],
    cost_micro_usd_cache_write: u.micro[3],
  }));
}

export function usageCsv(rows: readonly UsageRow[]): string {
  const lines = [USAGE_COLUMNS.join(',')];
  for (const r of usageJson(rows)) {
    const rec = r as Record<string, unknown>;
    lines.push(
      USAGE_COLUMNS.map((c) =>
        c === 'time_utc' ? new Date(r.timestamp).toISOString() : csvCell(rec[c]),
      ).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
