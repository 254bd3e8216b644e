// When a quota window runs out at the current burn rate: a least-squares slope of usage over the recent
// samples of the same window (a reset in between starts the fit afresh), projected to 100 %.
import type { QuotaWindow, Snapshot } from '../api/types.ts';

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
    if (w.reset_time_unix !== undefined && lastReset !== undefined && w.reset_time_unix !== lastReset) {
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
  if (!(slope > 0)) return { kind: 'not-rising' };
  const lastY = ys[n - 1]!;
  const at = Math.round(xs[n - 1]! + (1 - lastY) / slope);
  const resetMs =
    last?.reset_time_unix !== undefined ? last.reset_time_unix * 1000 : Number.POSITIVE_INFINITY;
  return { kind: 'at', ms: Math.max(at, now), beforeReset: at < resetMs };
}
