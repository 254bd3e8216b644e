// Points of a window → the verdict's input: counts, histograms aligned to one bucket layout for
// both variants (per-bucket counts for the rank test), quantiles, and the last two minutes.
import { addHist, type Hist, mergePoints, type Point } from '../points/point.ts';
import { quantileMs } from '../points/snapshot.ts';
import type { LatencyWindow, MinuteSlice, VariantWindow } from './verdict.ts';

const zeroOf = (h: Hist): Hist => ({ le: h.le, count: h.count.map(() => 0), sum: 0 });

/** Both histograms on the union of their bounds (they differ only across proxy versions). */
export function align(a: Hist | undefined, b: Hist | undefined): [Hist | undefined, Hist | undefined] {
  if (a === undefined || b === undefined) return [a, b];
  return [addHist(a, zeroOf(b)), addHist(b, zeroOf(a))];
}

/** Cumulative counts → per-bucket counts. */
export function perBucket(h: Hist): number[] {
  return h.count.map((c, i) => Math.max(0, c - (i === 0 ? 0 : h.count[i - 1]!)));
}

const latency = (h: Hist | undefined): LatencyWindow | null =>
  h === undefined ? null : { buckets: perBucket(h), p95Ms: quantileMs(h, 0.95) };

export interface WindowPoints {
  /** Every point of the variant in the window. */
  window: readonly Point[];
  /** Raw points of the second-to-last and last minute of the window. */
  minutes: readonly [readonly Point[], readonly Point[]];
}

/** Builds the verdict inputs of a candidate and the baseline over the same window. */
export function buildWindows(
  candidate: string,
  baseline: string,
  c: WindowPoints,
  b: WindowPoints,
  windowMs: number,
): { candidate: VariantWindow; baseline: VariantWindow } {
  const cm = c.window.length > 0 ? mergePoints(0, c.window as Point[]) : null;
  const bm = b.window.length > 0 ? mergePoints(0, b.window as Point[]) : null;
  const [cOver, bOver] = align(cm?.hist.overhead, bm?.hist.overhead);
  const [cTtfb, bTtfb] = align(cm?.hist.ttfb, bm?.hist.ttfb);
  const minutes = (own: WindowPoints, other: WindowPoints): MinuteSlice[] =>
    own.minutes.map((pts, i) => {
      const m = pts.length > 0 ? mergePoints(0, pts as Point[]) : null;
      const o = other.minutes[i]!.length > 0 ? mergePoints(0, other.minutes[i] as Point[]) : null;
      const [t] = align(m?.hist.ttfb, o?.hist.ttfb);
      return {
        requests: m?.delta.requests ?? 0,
        errors: m?.delta.errors ?? 0,
        ttfbP95Ms: quantileMs(t, 0.95),
        ttfbBuckets: t === undefined ? [] : perBucket(t),
      };
    });
  const variant = (
    name: string,
    m: Point | null,
    over: Hist | undefined,
    ttfb: Hist | undefined,
    own: WindowPoints,
    other: WindowPoints,
  ): VariantWindow => {
    const tc = m?.hist.token_count;
    return {
      variant: name,
      requests: m?.delta.requests ?? 0,
      errors: m?.delta.errors ?? 0,
      ratePerSec: windowMs > 0 ? (m?.delta.requests ?? 0) / (windowMs / 1000) : 0,
      overhead: latency(over),
      ttfb: latency(ttfb),
      tokenCountP99Ms: quantileMs(tc, 0.99),
      tokenCountObservations: tc?.count.at(-1) ?? 0,
      zaiErrors: m?.delta.zai_errors ?? {},
      lastMinutes: minutes(own, other),
    };
  };
  return {
    candidate: variant(candidate, cm, cOver, cTtfb, c, b),
    baseline: variant(baseline, bm, bOver, bTtfb, b, c),
  };
}
