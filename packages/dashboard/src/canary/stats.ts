// The statistical tests behind the canary verdict: a one-sided two-proportion z-test, the
// Mann-Whitney U test computed on histogram bucket counts (every observation in a bucket is a tie),
// and a chi-square test of homogeneity. Pure numerics, checked against scipy's reference values.

/** Upper tail of the standard normal, P(Z > z). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function: Maclaurin series of erf below 2, Lentz's continued fraction above. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27) return 0; // below the smallest double
  // erfc(x) = exp(−x²)/√π · 1 / (x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let k = 1; k < 200; k++) {
    const a = k / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** erf(x) by its Maclaurin series (used for 0 ≤ x < 2, where it converges in < 60 terms). */
function erfSeries(x: number): number {
  let sum = x;
  let term = x;
  const x2 = x * x;
  for (let n = 1; n < 100; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** z with P(Z > z) = p, by bisection on normalSf (0 < p < 1; called with a handful of fixed levels). */
export function normalQuantileUpper(p: number): number {
  if (!(p > 0 && p < 1)) return Number.NaN;
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalSf(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface TestResult {
  statistic: number;
  /** One-sided p-value for "the candidate is worse". */
  pValue: number;
}

/**
 * One-sided two-proportion z-test with a pooled variance: H1 is "the candidate's proportion is higher".
 * Equal proportions at 0 or 1 (no variance) give z = 0, p = 0.5 … reported as p = 1 when both are
 * identical, since there is no evidence either way.
 */
export function twoProportionZ(xCand: number, nCand: number, xBase: number, nBase: number): TestResult {
  const p1 = xCand / nCand;
  const p2 = xBase / nBase;
  const pooled = (xCand + xBase) / (nCand + nBase);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nCand + 1 / nBase));
  if (!(se > 0)) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: z, pValue: normalSf(z) };
}

export interface RankTestResult extends TestResult {
  /** U of the candidate: pairs (candidate, baseline) where the candidate is larger, ties counting ½. */
  u: number;
  /** P(candidate observation > baseline observation) + ½ P(tie) = U / (n₁·n₂); 0.5 means no difference. */
  effect: number;
  nCand: number;
  nBase: number;
}

/**
 * Mann-Whitney U on per-bucket counts (same bucket bounds for both). H1: candidate values are
 * larger. Normal approximation with tie correction and continuity correction — what
 * scipy.stats.mannwhitneyu(cand, base, alternative='greater', method='asymptotic') computes on the
 * expanded samples, where every observation of a bucket has the same value.
 */
export function mannWhitneyBuckets(cand: readonly number[], base: readonly number[]): RankTestResult {
  if (cand.length !== base.length) throw new RangeError('bucket counts must have the same length');
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < cand.length; i++) {
    n1 += cand[i]!;
    n2 += base[i]!;
  }
  const nan = {
    statistic: Number.NaN,
    pValue: Number.NaN,
    u: Number.NaN,
    effect: Number.NaN,
    nCand: n1,
    nBase: n2,
  };
  if (n1 === 0 || n2 === 0) return nan;
  let u = 0;
  let below = 0; // baseline observations in lower buckets
  let tieSum = 0;
  for (let i = 0; i < cand.length; i++) {
    const c = cand[i]!;
    const b = base[i]!;
    u += c * (below + b / 2);
    below += b;
    const t = c + b;
    tieSum += t * t * t - t;
  }
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)));
  const effect = u / (n1 * n2);
  if (!(variance > 0)) return { statistic: 0, pValue: 1, u, effect, nCand: n1, nBase: n2 }; // all tied
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { statistic: z, pValue: normalSf(z), u, effect, nCand: n1, nBase: n2 };
}

export interface ChiSquareResult extends TestResult {
  df: number;
  /** Cramér's V for a 2×k table: sqrt(χ² / N). */
  effect: number;
  total: number;
}

/** Chi-square test of homogeneity of a 2×k table of counts (columns with no counts are dropped). */
export function chiSquareHomogeneity(a: readonly number[], b: readonly number[]): ChiSquareResult {
  const cols: [number, number][] = [];
  for (let i = 0; i < a.length; i++) if (a[i]! + b[i]! > 0) cols.push([a[i]!, b[i]!]);
  const na = cols.reduce((s, c) => s + c[0], 0);
  const nb = cols.reduce((s, c) => s + c[1], 0);
  const total = na + nb;
  const df = cols.length - 1;
  if (df < 1 || na === 0 || nb === 0)
    return { statistic: 0, pValue: 1, df: Math.max(df, 0), effect: 0, total };
  let chi = 0;
  for (const [x, y] of cols) {
    const col = x + y;
    const ea = (col * na) / total;
    const eb = (col * nb) / total;
    chi += ((x - ea) * (x - ea)) / ea + ((y - eb) * (y - eb)) / eb;
  }
  return { statistic: chi, pValue: gammaQ(df / 2, chi / 2), df, effect: Math.sqrt(chi / total), total };
}

/** Regularised upper incomplete gamma Q(s, x) (series below s+1, continued fraction above). */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const lnPre = -x + s * Math.log(x) - logGamma(s);
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let k = 1; k < 1000; k++) {
      term *= x / (s + k);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return Math.max(0, 1 - Math.exp(lnPre) * sum);
  }
  const tiny = 1e-300;
  let b = x + 1 - s;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(lnPre) * h;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9). */
function logGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}
