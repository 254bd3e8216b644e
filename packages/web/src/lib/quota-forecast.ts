// When a quota window runs out at the current burn rate: a least-squares slope of usage over the recent
// samples of the same window (a reset in between starts the fit afresh), projected to 100 %.
import type { QuotaWindow, Snapshot } from '../api/types.ts';

/** Forecasts further out than this are reported as not rising. */
const MAX_HORIZON_MS = 366 * 86_400_000;

export type QuotaWindowKey = 'five_hour' | 'weekly';

export type Forecast =
  | { kind: 'exhausted' }
  | { kind: 'at'; ms: number; beforeReset: boolean }
  | { kind: 'not-rising' }
  | { kind: 'unknown' };

/** Needs at least `minPoints` samples spanning `minSpanMs`, so one noisy reading does not alarm anyone. */
export function forecastExhaustion(
  points: readonly Snapshot[],
  key: QuotaWindowKey,
  now: number,
  minPoints = 3,
  minSpanMs = 60_000,
): Forecast {
  const xs: number[] = [];
  const ys: number[] = [];
  let lastReset: number | undefined;
  let last: QuotaWindow | undefined;
  for (const p of points) {
    const w = p.quota?.[key];
    if (w?.usage_ratio === undefined) continue;
    // a new reset stamp (beyond a minute of jitter) means the window restarted: fit only the new one
    if (
      w.reset_time_unix !== undefined &&
      lastReset !== undefined &&
      Math.abs(w.reset_time_unix - lastReset) > 60
    ) {
      xs.length = 0;
      ys.length = 0;
    }
    lastReset = w.reset_time_unix ?? lastReset;
    xs.push(p.timestamp);
    ys.push(w.usage_ratio);
    last = w;
  }
  if (last?.usage_ratio !== undefined && last.usage_ratio >= 1) return { kind: 'exhausted' };
  if (xs.length < minPoints || xs[xs.length - 1]! - xs[0]! < minSpanMs) return { kind: 'unknown' };
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den > 0 ? num / den : 0; // ratio per ms
  const lastY = ys[n - 1]!;
  const at = slope > 0 ? Math.round(xs[n - 1]! + (1 - lastY) / slope) : Number.POSITIVE_INFINITY;
  // flat usage (or a slope that is only rounding noise) would run out centuries from now
  if (!(at - now < MAX_HORIZON_MS)) return { kind: 'not-rising' };
  const resetMs =
    last?.reset_time_unix !== undefined ? last.reset_time_unix * 1000 : Number.POSITIVE_INFINITY;
  return { kind: 'at', ms: Math.max(at, now), beforeReset: at < resetMs };
}
