// Order statistics for bench samples: nearest-rank percentiles and medians of per-round values.

/** Nearest-rank percentile (q in 0..1) of an ascending array; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1]!;
}

/** p50 and p99 of a sample (copied, then sorted). */
export function p50p99(samples: ArrayLike<number>): { p50: number; p99: number } {
  const s = Float64Array.from(samples).sort();
  return { p50: percentileSorted(s, 0.5), p99: percentileSorted(s, 0.99) };
}

/** Median of a few per-round values (mean of the middle two when even); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Smallest and largest of per-round values, to show how much the rounds disagree. */
export function spread(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}
