// Reads one Prometheus histogram from exposition text, per label value, and estimates its quantiles
// the way PromQL's histogram_quantile does (linear interpolation inside the bucket).
import { parsePrometheusText } from './parse.ts';
import type { Families } from './select.ts';

/** Cumulative bucket counts by upper bound, ascending, +Inf last. */
export interface Buckets {
  le: number[];
  count: number[];
}

/**
 * The histogram `name` from exposition text or parsed families, one Buckets per value of `byLabel`
 * (every other label summed: buckets of one bound add up across series).
 */
export function readHistogram(
  source: string | Families,
  name: string,
  byLabel: string,
): Map<string, Buckets> {
  const families = typeof source === 'string' ? parsePrometheusText(source) : source;
  const acc = new Map<string, Map<number, number>>();
  const bucket = `${name}_bucket`;
  for (const s of families.get(name)?.samples ?? []) {
    if (s.name !== bucket) continue;
    const le = s.labels.le === undefined ? Number.NaN : Number(s.labels.le.replace('Inf', 'Infinity'));
    const key = s.labels[byLabel] ?? '';
    const byLe = acc.get(key) ?? new Map<number, number>();
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    acc.set(key, byLe);
  }
  const out = new Map<string, Buckets>();
  for (const [key, byLe] of acc) {
    const le = [...byLe.keys()].sort((a, b) => a - b);
    out.set(key, { le, count: le.map((b) => byLe.get(b)!) });
  }
  return out;
}

/** after − before, per key (a key absent before counts from zero). */
export function diffHistograms(
  after: Map<string, Buckets>,
  before: Map<string, Buckets>,
): Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const [key, a] of after) {
    const b = before.get(key);
    out.set(key, { le: a.le, count: a.count.map((c, i) => c - (b?.count[i] ?? 0)) });
  }
  return out;
}

/** Observations in the histogram (the +Inf bucket). */
export function totalCount(h: Buckets): number {
  return h.count[h.count.length - 1] ?? 0;
}

/**
 * Estimated q-quantile (0..1), as histogram_quantile: linear within the bucket, the first bucket
 * starting at 0, and the highest finite bound when the rank falls in +Inf. NaN when empty.
 */
export function histogramQuantile(h: Buckets, q: number): number {
  const total = totalCount(h);
  if (total === 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < h.le.length; i++) {
    if (h.count[i]! < rank) continue;
    const upper = h.le[i]!;
    if (upper === Number.POSITIVE_INFINITY) return h.le[i - 1] ?? Number.NaN;
    const lower = i === 0 ? 0 : h.le[i - 1]!;
    const below = i === 0 ? 0 : h.count[i - 1]!;
    const inBucket = h.count[i]! - below;
    return inBucket === 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
  }
  return h.le[h.le.length - 1]!;
}

/** a + b, per key (bounds taken from whichever has the key; both come from one metric). */
export function addHistograms(a: Map<string, Buckets>, b: Map<string, Buckets>): Map<string, Buckets> {
  const out = new Map(a);
  for (const [key, h] of b) {
    const x = out.get(key);
    out.set(key, x === undefined ? h : { le: h.le, count: h.count.map((c, i) => c + (x.count[i] ?? 0)) });
  }
  return out;
}
