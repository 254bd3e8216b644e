// Number, duration and money formatting shared by panel headlines, tooltips, axes and text alternatives.
// Every formatter turns null, undefined, NaN and ±Infinity into a dash: the API sends null for "no data".

export const DASH = '—';

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Compact count: 950 → "950", 12_300 → "12.3k", 4_560_000 → "4.56M". */
export function formatCount(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A per-second rate with its unit: 0.25 → "0.25/s", 5.5 → "5.5/s", 1500 → "1.5k/s". */
export function formatRate(v: number | null | undefined, unit = '/s'): string {
  if (!finite(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1000) return `${formatCount(v)}${unit}`;
  if (a > 0 && a < 1) return `${v.toFixed(2)}${unit}`;
  return `${v.toFixed(1)}${unit}`;
}

/** Milliseconds: 51 → "51 ms", 1500 → "1.50 s", 90_000 → "1m 30s". */
export function formatMs(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(2)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** A ratio in [0, 1] as a percentage: 0.423 → "42.3%"; digits default to 1. */
export function formatRatio(v: number | null | undefined, digits = 1): string {
  if (!finite(v)) return DASH;
  return `${(v * 100).toFixed(digits)}%`;
}

/** US dollars: sub-cent amounts keep four decimals so small canary spend is not shown as $0.00. */
export function formatUsd(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  const a = Math.abs(v);
  const digits = a > 0 && a < 0.01 ? 4 : 2;
  const s = a.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return v < 0 ? `-$${s}` : `$${s}`;
}

/** Age in seconds, floored: 42.7 → "42s", 754 → "12m", 7200 → "2h", 200_000 → "2d". */
export function formatAge(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return DASH;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Time left until a moment: ≤0 → "now"; 26 h → "1d 2h"; 90 min → "1h 30m"; 45 s → "45s". */
export function formatCountdown(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  if (ms <= 0) return 'now';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Wall-clock time of a timestamp (ms) in the viewer's zone, 24 h: "14:05:09". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Date and time for ranges longer than a day: "Dec 1 14:05". */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short' });
  const p = (n: number) => String(n).padStart(2, '0');
  return `${month} ${d.getDate()} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
