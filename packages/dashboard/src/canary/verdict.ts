// The canary verdict: compare one candidate variant with the baseline over the same window and say
// promote, hold, rollback or "insufficient data". Pure: the caller reads the store, builds one
// VariantWindow per variant (counts, per-bucket histogram counts, quantiles already computed) and
// passes the clock; nothing here does I/O.
//
// Method (documented in docs/dashboard.md):
// - error ratio (5xx and broken streams; not 4xx, not 429) by a one-sided two-proportion z-test;
// - proxy overhead and time to first byte by a one-sided Mann-Whitney U test on the histogram bucket
//   counts (ties within a bucket, tie-corrected), gated by the effect size P(candidate slower);
//   total duration is not judged: output length dominates it;
// - the mix of Z.AI error classes by a chi-square test (hold at most: it is mostly the account's state);
// - the token-count p99 against the 100 ms gate.
// Rollback needs strong evidence (p < 0.001) and a large effect, so identical variants are rolled
// back in far fewer than 5 % of windows; the forced triggers (error ratio > 10 % or p95 TTFB at least
// doubled, in each of the last two minutes, each minute clear on its own at p < 0.01) act even below
// the minimum sample.
import { chiSquareHomogeneity, mannWhitneyBuckets, normalQuantileUpper, twoProportionZ } from './stats.ts';

/** A latency histogram over the window: per-bucket (not cumulative) counts, same layout for both variants. */
export interface LatencyWindow {
  buckets: readonly number[];
  p95Ms: number | null;
}

/** One minute of the trailing two, for the forced-rollback triggers. */
export interface MinuteSlice {
  requests: number;
  errors: number;
  ttfbP95Ms: number | null;
  /** Per-bucket TTFB counts of the minute (same layout as the window's); [] when none. */
  ttfbBuckets: readonly number[];
}

/** What one variant did during the window. */
export interface VariantWindow {
  variant: string;
  requests: number;
  errors: number;
  /** Requests per second over the window (for "about when" enough data will be there). */
  ratePerSec: number;
  overhead: LatencyWindow | null;
  ttfb: LatencyWindow | null;
  tokenCountP99Ms: number | null;
  tokenCountObservations: number;
  /** Classified Z.AI errors by class. */
  zaiErrors: Readonly<Record<string, number>>;
  /** The last two minutes of the window, oldest first (fewer when the window is shorter). */
  lastMinutes: readonly MinuteSlice[];
}

export interface Thresholds {
  minSample: number;
  /** Hold when a regression is significant at this level … */
  holdP: number;
  /** … rollback only at this one, with a large effect. */
  rollbackP: number;
  /** Error ratio: a difference at least this large (absolute) can roll back; a smaller significant one holds. */
  rollbackErrorDiff: number;
  holdErrorDiff: number;
  /** Rank tests: P(candidate slower) at least this to hold / to roll back (Vargha–Delaney small / large). */
  holdEffect: number;
  rollbackEffect: number;
  /**
   * A latency hold also needs the candidate's p95 at least this multiple of the baseline's: with
   * hundreds of requests a rank test finds a few per cent between two identical builds on a shared
   * host (seen: p95 32.5 vs 30.3 ms, P(slower) = 0.57, p = 0.0003), which is no reason to stop a rollout.
   */
  holdP95Ratio: number;
  /** …and at least this many ms above it: two identical proxies on a loaded host were seen 2 ms
   *  (1.12×) apart at p95 overhead with p = 0.0005, and a few ms are nothing beside a model's reply. */
  holdP95MinDiffMs: number;
  /** Forced rollback: error ratio above this in each of the last two minutes. */
  forcedErrorRatio: number;
  /** Forced rollback: candidate p95 TTFB at least this multiple of the baseline's in each of the last two minutes. */
  forcedTtfbRatio: number;
  /** A forced trigger must also be clear within each minute: one-sided evidence at this level. */
  forcedP: number;
  tokenCountGateMs: number;
  /** Classified Z.AI errors needed before their mix is compared. */
  minZaiErrors: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  minSample: 50,
  holdP: 0.05,
  rollbackP: 0.001,
  rollbackErrorDiff: 0.05,
  holdErrorDiff: 0.005,
  holdEffect: 0.56,
  rollbackEffect: 0.71,
  holdP95Ratio: 1.1,
  holdP95MinDiffMs: 5,
  forcedErrorRatio: 0.1,
  forcedTtfbRatio: 2,
  forcedP: 0.01,
  tokenCountGateMs: 100,
  minZaiErrors: 20,
};

export type Verdict = 'promote' | 'hold' | 'rollback' | 'insufficient_data';
export type Outcome = 'pass' | 'hold' | 'rollback' | 'inconclusive' | 'not_applicable';
export type MetricName = 'error_ratio' | 'overhead' | 'ttfb' | 'zai_error_mix' | 'token_count_p99';

export interface MetricResult {
  metric: MetricName;
  outcome: Outcome;
  test: 'two_proportion_z' | 'mann_whitney_u' | 'chi_square' | 'threshold';
  baseline: { n: number; value: number | null };
  candidate: { n: number; value: number | null };
  statistic: number | null;
  p_value: number | null;
  effect: number | null;
  detail: string | null;
}

export interface CanaryResult {
  variant: string;
  verdict: Verdict;
  deciding_metric: MetricName | null;
  reason: string;
  confidence: number | null;
  forced: boolean;
  needed: { requests: number; variant: string; eta_seconds: number | null; eta: number | null } | null;
  metrics: MetricResult[];
}

export interface VerdictInput {
  baseline: VariantWindow;
  candidate: VariantWindow;
  nowMs: number;
  thresholds?: Partial<Thresholds>;
}

const SEVERITY: Record<Outcome, number> = {
  rollback: 3,
  hold: 2,
  pass: 1,
  inconclusive: 0,
  not_applicable: 0,
};
const LABEL: Record<MetricName, string> = {
  error_ratio: 'error ratio',
  overhead: 'proxy overhead',
  ttfb: 'time to first byte',
  zai_error_mix: 'Z.AI error-class mix',
  token_count_p99: 'token-count p99',
};

const finite = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const fmtP = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toFixed(4));
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);

/** Decides the verdict for one candidate against the baseline. Never throws on odd input. */
export function decideCanary(input: VerdictInput): CanaryResult {
  const t = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const { baseline: b, candidate: c } = input;
  const metrics = [
    errorRatio(c, b, t),
    latency('overhead', c.overhead, b.overhead, t),
    latency('ttfb', c.ttfb, b.ttfb, t),
    zaiMix(c, b, t),
    tokenCount(c, b, t),
  ];
  const base = { variant: c.variant, metrics };

  const forced = forcedTrigger(c, b, t);
  if (forced !== null) {
    return {
      ...base,
      verdict: 'rollback',
      deciding_metric: forced.metric,
      reason: forced.reason,
      confidence: null,
      forced: true,
      needed: null,
    };
  }

  const short = [c, b]
    .map((v) => ({ v, missing: t.minSample - v.requests }))
    .filter((x) => x.missing > 0)
    .sort((x, y) => y.missing - x.missing)[0];
  if (short !== undefined) {
    const rate = short.v.ratePerSec;
    const eta = rate > 0 && Number.isFinite(rate) ? short.missing / rate : null;
    return {
      ...base,
      verdict: 'insufficient_data',
      deciding_metric: null,
      reason: `${short.v.variant} has ${short.v.requests} of the ${t.minSample} requests needed in the window; ${short.missing} more${eta === null ? ' (no traffic now)' : `, about ${Math.ceil(eta)} s at the current rate`}`,
      confidence: null,
      forced: false,
      needed: {
        requests: short.missing,
        variant: short.v.variant,
        eta_seconds: eta === null ? null : Math.ceil(eta),
        eta: eta === null ? null : input.nowMs + Math.ceil(eta) * 1000,
      },
    };
  }

  const worst = [...metrics].sort(
    (x, y) => SEVERITY[y.outcome] - SEVERITY[x.outcome] || (x.p_value ?? 1) - (y.p_value ?? 1),
  )[0]!;
  if (worst.outcome === 'rollback' || worst.outcome === 'hold') {
    return {
      ...base,
      verdict: worst.outcome,
      deciding_metric: worst.metric,
      reason: `${LABEL[worst.metric]}: ${worst.detail ?? 'regressed'}`,
      confidence: worst.p_value === null ? null : 1 - worst.p_value,
      forced: false,
      needed: null,
    };
  }
  const closest = [...metrics]
    .filter((m) => m.p_value !== null && m.outcome === 'pass')
    .sort((x, y) => x.p_value! - y.p_value!)[0];
  return {
    ...base,
    verdict: 'promote',
    deciding_metric: closest?.metric ?? null,
    reason: `no metric regressed at the ${t.holdP * 100} % level${closest === undefined ? '' : ` (closest: ${LABEL[closest.metric]}, p = ${fmtP(closest.p_value!)})`}`,
    confidence: 1 - t.holdP,
    forced: false,
    needed: null,
  };
}

function forcedTrigger(
  c: VariantWindow,
  b: VariantWindow,
  t: Thresholds,
): { metric: MetricName; reason: string } | null {
  const recent = c.lastMinutes.slice(-2);
  if (recent.length < 2) return null;
  // "Above 10 %" must be more than noise in a minute of little traffic: the one-sided Wilson lower
  // bound of the minute's error ratio is above the threshold (5 of 5 failed requests is; 2 of 8 is not).
  const z = normalQuantileUpper(t.forcedP);
  if (recent.every((m) => wilsonLower(m.errors, m.requests, z) > t.forcedErrorRatio)) {
    const r = recent.map((m) => `${m.errors}/${m.requests}`).join(' then ');
    return {
      metric: 'error_ratio',
      reason: `error ratio above ${t.forcedErrorRatio * 100} % for 2 minutes (${r} failed)`,
    };
  }
  const bm = b.lastMinutes.slice(-2);
  if (bm.length === 2) {
    // Buckets are about ×2 apart, so one bucket of noise doubles a p95: the minute's rank test must agree.
    const doubled = recent.every((m, i) => {
      const base = bm[i]!;
      if (m.ttfbP95Ms === null || base.ttfbP95Ms === null || !(base.ttfbP95Ms > 0)) return false;
      if (m.ttfbP95Ms < t.forcedTtfbRatio * base.ttfbP95Ms) return false;
      if (m.ttfbBuckets.length !== base.ttfbBuckets.length) return false;
      const mw = mannWhitneyBuckets(m.ttfbBuckets, base.ttfbBuckets);
      return mw.pValue < t.forcedP;
    });
    if (doubled) {
      const r = recent
        .map((m, i) => `${m.ttfbP95Ms!.toFixed(0)} vs ${bm[i]!.ttfbP95Ms!.toFixed(0)} ms`)
        .join(', ');
      return { metric: 'ttfb', reason: `p95 time to first byte at least doubled for 2 minutes (${r})` };
    }
  }
  return null;
}

/** One-sided Wilson score lower bound of x/n at normal quantile z; 0 when n = 0. */
export function wilsonLower(x: number, n: number, z: number): number {
  if (!(n > 0)) return 0;
  const p = x / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

function errorRatio(c: VariantWindow, b: VariantWindow, t: Thresholds): MetricResult {
  const cv = ratio(c.errors, c.requests);
  const bv = ratio(b.errors, b.requests);
  const out: MetricResult = {
    metric: 'error_ratio',
    outcome: 'inconclusive',
    test: 'two_proportion_z',
    baseline: { n: b.requests, value: bv },
    candidate: { n: c.requests, value: cv },
    statistic: null,
    p_value: null,
    effect: null,
    detail: null,
  };
  if (c.requests < t.minSample || b.requests < t.minSample || cv === null || bv === null) return out;
  const r = twoProportionZ(c.errors, c.requests, b.errors, b.requests);
  const diff = cv - bv;
  out.statistic = finite(r.statistic);
  out.p_value = finite(r.pValue);
  out.effect = diff;
  out.outcome =
    r.pValue < t.rollbackP && diff >= t.rollbackErrorDiff
      ? 'rollback'
      : r.pValue < t.holdP && diff >= t.holdErrorDiff
        ? 'hold'
        : 'pass';
  out.detail = `${pct(cv)} vs ${pct(bv)} in production (p = ${fmtP(r.pValue)})`;
  return out;
}

function latency(
  metric: 'overhead' | 'ttfb',
  c: LatencyWindow | null,
  b: LatencyWindow | null,
  t: Thresholds,
): MetricResult {
  const out: MetricResult = {
    metric,
    outcome: 'not_applicable',
    test: 'mann_whitney_u',
    baseline: { n: sum(b?.buckets), value: finite(b?.p95Ms) },
    candidate: { n: sum(c?.buckets), value: finite(c?.p95Ms) },
    statistic: null,
    p_value: null,
    effect: null,
    detail: 'p95 ms',
  };
  if (c === null || b === null) return out;
  out.outcome = 'inconclusive';
  if (c.buckets.length !== b.buckets.length || out.candidate.n < t.minSample || out.baseline.n < t.minSample)
    return out;
  const r = mannWhitneyBuckets(c.buckets, b.buckets);
  out.statistic = finite(r.statistic);
  out.p_value = finite(r.pValue);
  out.effect = finite(r.effect);
  if (out.p_value === null || out.effect === null) return out;
  const cp = out.candidate.value;
  const bp = out.baseline.value;
  const p95Slower =
    cp === null || bp === null || (cp >= bp * t.holdP95Ratio && cp - bp >= t.holdP95MinDiffMs);
  out.outcome =
    r.pValue < t.rollbackP && r.effect >= t.rollbackEffect
      ? 'rollback'
      : r.pValue < t.holdP && r.effect >= t.holdEffect && p95Slower
        ? 'hold'
        : 'pass';
  const p95 = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
  out.detail = `slower than production: P(canary slower) = ${r.effect.toFixed(2)}, p = ${fmtP(r.pValue)}; p95 ${p95(out.candidate.value)} vs ${p95(out.baseline.value)}`;
  if (out.outcome === 'pass')
    out.detail = `no slowdown shown (P(canary slower) = ${r.effect.toFixed(2)}, p = ${fmtP(r.pValue)})`;
  return out;
}

function zaiMix(c: VariantWindow, b: VariantWindow, t: Thresholds): MetricResult {
  const classes = [...new Set([...Object.keys(c.zaiErrors), ...Object.keys(b.zaiErrors)])].sort();
  const cc = classes.map((k) => c.zaiErrors[k] ?? 0);
  const bc = classes.map((k) => b.zaiErrors[k] ?? 0);
  const out: MetricResult = {
    metric: 'zai_error_mix',
    outcome: 'inconclusive',
    test: 'chi_square',
    baseline: { n: sum(bc), value: sum(bc) },
    candidate: { n: sum(cc), value: sum(cc) },
    statistic: null,
    p_value: null,
    effect: null,
    detail: null,
  };
  if (out.candidate.n < t.minZaiErrors || out.baseline.n < t.minZaiErrors || classes.length < 2) return out;
  const r = chiSquareHomogeneity(cc, bc);
  out.statistic = finite(r.statistic);
  out.p_value = finite(r.pValue);
  out.effect = finite(r.effect);
  // A different mix with a medium effect holds; it never rolls back (limits are the account's).
  out.outcome = r.pValue < t.rollbackP && r.effect >= 0.3 ? 'hold' : 'pass';
  const share = (xs: number[]) =>
    classes.map((k, i) => `${k} ${Math.round((100 * xs[i]!) / Math.max(1, sum(xs)))}%`).join(', ');
  out.detail = `canary ${share(cc)}; production ${share(bc)} (p = ${fmtP(r.pValue)})`;
  return out;
}

function tokenCount(c: VariantWindow, b: VariantWindow, t: Thresholds): MetricResult {
  const out: MetricResult = {
    metric: 'token_count_p99',
    outcome: 'not_applicable',
    test: 'threshold',
    baseline: { n: b.tokenCountObservations, value: finite(b.tokenCountP99Ms) },
    candidate: { n: c.tokenCountObservations, value: finite(c.tokenCountP99Ms) },
    statistic: null,
    p_value: null,
    effect: null,
    detail: `gate ${t.tokenCountGateMs} ms`,
  };
  if (c.tokenCountObservations === 0) return out;
  out.outcome = 'inconclusive';
  const cv = out.candidate.value;
  if (c.tokenCountObservations < t.minSample || cv === null) return out;
  const bv = out.baseline.value;
  // The highest bucket is 100 ms, so a p99 of 100 ms means "100 ms or more".
  const fails = (v: number | null) => v !== null && v >= t.tokenCountGateMs;
  out.outcome = fails(cv) && !fails(bv) ? 'hold' : 'pass';
  out.detail = `p99 ${cv.toFixed(2)} ms vs ${bv === null ? 'n/a' : `${bv.toFixed(2)} ms`} (gate ${t.tokenCountGateMs} ms)`;
  return out;
}

function sum(xs: readonly number[] | undefined): number {
  let s = 0;
  for (const x of xs ?? []) s += x;
  return s;
}
