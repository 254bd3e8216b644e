// History from /api/metrics and live frames from /api/events, merged per variant into one sorted series.
// Memory is bounded by the range: points are kept one per resolution bucket and only inside the window, so
// a variant never holds more than ceil(span ÷ resolution) + 1 points, however fast frames arrive.
import type { Snapshot } from '../api/types.ts';

/** The spacing the dashboard serves for a range: raw scrapes up to an hour, one-minute rollups beyond. */
export function resolutionFor(spanMs: number, scrapeIntervalMs: number): number {
  return spanMs > 3_600_000 ? Math.max(scrapeIntervalMs, 60_000) : scrapeIntervalMs;
}

export function capacityFor(spanMs: number, resolutionMs: number): number {
  return Math.ceil(spanMs / resolutionMs) + 1;
}

export interface SeriesStore {
  /** Replaces a variant's history; live points newer than it (or at the same time) survive and win. */
  setHistory(variant: string, points: readonly Snapshot[], now: number): void;
  /** Adds one live frame; a frame in the same bucket as the newest point replaces it. */
  push(s: Snapshot, now: number): void;
  get(variant: string): readonly Snapshot[];
  variants(): string[];
  /** Total points held over every variant. */
  size(): number;
  readonly spanMs: number;
  readonly resolutionMs: number;
}

export function createSeriesStore(spanMs: number, resolutionMs: number): SeriesStore {
  if (!(spanMs > 0) || !(resolutionMs > 0)) throw new RangeError('span and resolution must be positive');
  const cap = capacityFor(spanMs, resolutionMs);
  const series = new Map<string, Snapshot[]>();
  const bucket = (ts: number) => Math.floor(ts / resolutionMs);

  function trim(arr: Snapshot[], now: number): void {
    const from = now - spanMs;
    let drop = 0;
    while (drop < arr.length && arr[drop]!.timestamp < from) drop++;
    if (arr.length - drop > cap) drop = arr.length - cap;
    if (drop > 0) arr.splice(0, drop);
  }

  function insert(arr: Snapshot[], s: Snapshot): void {
    const last = arr[arr.length - 1];
    if (last === undefined || bucket(s.timestamp) > bucket(last.timestamp)) {
      arr.push(s);
      return;
    }
    // Same bucket as the newest point (the usual case for frames faster than the resolution), or out of
    // order: find its bucket from the end and replace the point there, or slot it in by time.
    let i = arr.length - 1;
    while (i >= 0 && bucket(arr[i]!.timestamp) > bucket(s.timestamp)) i--;
    if (i >= 0 && bucket(arr[i]!.timestamp) === bucket(s.timestamp)) {
      if (s.timestamp >= arr[i]!.timestamp) arr[i] = s;
    } else arr.splice(i + 1, 0, s);
  }

  return {
    spanMs,
    resolutionMs,
    setHistory(variant, points, now) {
      const live = series.get(variant) ?? [];
      const merged: Snapshot[] = [];
      const sorted = [...points]
        .filter((p) => Number.isFinite(p.timestamp))
        .sort((a, b) => a.timestamp - b.timestamp);
      for (const p of sorted) insert(merged, p);
      const lastHistory = merged.length > 0 ? merged[merged.length - 1]!.timestamp : Number.NEGATIVE_INFINITY;
      for (const p of live) if (p.timestamp >= lastHistory) insert(merged, p);
      trim(merged, now);
      series.set(variant, merged);
    },
    push(s, now) {
      if (!Number.isFinite(s.timestamp) || typeof s.variant !== 'string') return;
      let arr = series.get(s.variant);
      if (arr === undefined) {
        arr = [];
        series.set(s.variant, arr);
      }
      insert(arr, s);
      trim(arr, now);
    },
    get: (variant) => series.get(variant) ?? [],
    variants: () => [...series.keys()].sort(),
    size() {
      let n = 0;
      for (const a of series.values()) n += a.length;
      return n;
    },
  };
}
