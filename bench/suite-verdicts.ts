// The suite's decisions, pure: where each target's stream capacity ends (its knee), the RSS slope per
// open stream, and the verdict on each performance target of the suite.

/** One target at one capacity step: N paced streams at once. */
export interface CapacityStep {
  n: number;
  target: string;
  /** p99 of (gap between events − pacing interval), ms, over every gap of every stream. */
  lateP99: number;
  /** Streams that failed (error, non-200, cut short). */
  errors: number;
  /** The target's resident memory with the N streams open, bytes (absent for the direct upstream). */
  rssBytes?: number;
}

export interface Knee {
  target: string;
  /** The largest N it held (every step up to it passed); null when it failed the first step. */
  knee: number | null;
  /**
   * Why the stepping ended: 'target' (it failed a valid step), 'load-generator' (the direct upstream
   * itself passed the bound first, so no higher step counts), 'steps' (it passed every step).
   */
  limitedBy: 'target' | 'load-generator' | 'steps';
}

/** Added gap p99 of `s` over the direct upstream at the same N; the direct upstream's own lateness for itself. */
export function addedLate(steps: readonly CapacityStep[], s: CapacityStep, direct: string): number {
  if (s.target === direct) return s.lateP99;
  const d = steps.find((x) => x.target === direct && x.n === s.n);
  return d === undefined ? Number.NaN : s.lateP99 - d.lateP99;
}

/** Whether one step passed: no failed stream and the added gap p99 within the bound. */
export function stepPasses(steps: readonly CapacityStep[], s: CapacityStep, direct: string, boundMs: number) {
  const added = addedLate(steps, s, direct);
  return s.errors === 0 && Number.isFinite(added) && added <= boundMs;
}

/**
 * The knee of `target`: a step counts only while the direct upstream passes it (otherwise the load
 * generator or the upstream is the limit, not the target).
 */
export function kneeOf(
  steps: readonly CapacityStep[],
  target: string,
  direct: string,
  boundMs: number,
): Knee {
  const ns = [...new Set(steps.map((s) => s.n))].sort((a, b) => a - b);
  let knee: number | null = null;
  for (const n of ns) {
    const d = steps.find((s) => s.target === direct && s.n === n);
    if (d === undefined || !stepPasses(steps, d, direct, boundMs)) {
      return { target, knee, limitedBy: 'load-generator' };
    }
    const s = steps.find((x) => x.target === target && x.n === n);
    if (s === undefined || !stepPasses(steps, s, direct, boundMs))
      return { target, knee, limitedBy: 'target' };
    knee = n;
  }
  return { target, knee, limitedBy: 'steps' };
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (n < 2 || sxx === 0) return Number.NaN;
  return points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
}

/**
 * RSS bytes per open stream of `target`, over its steps where every stream stayed open (no errors):
 * late events do not change what an open stream holds.
 */
export function rssSlope(steps: readonly CapacityStep[], target: string): number {
  return slope(
    steps
      .filter((s) => s.target === target && s.rssBytes !== undefined && s.errors === 0)
      .map((s) => ({ x: s.n, y: s.rssBytes! })),
  );
}

/** What the suite measured that the targets are judged on; NaN (or null knee) = not measured. */
export interface Measured {
  knee: { proxy: Knee; nginx: Knee | null };
  rssSlopeBytes: number;
  /** RSS after the 200k requests over the steady RSS before them, − 1. */
  rssGrowth: number;
  /** Added p50 over direct at c=1 (Anthropic JSON), µs. */
  addedC1: { proxy: number; nginx: number };
  /** Added time to first byte over direct at c=1 (Anthropic stream), µs. */
  addedTtfb: { proxy: number; nginx: number };
  /** req/s at c=64 (Anthropic JSON). */
  rpsC64: { proxy: number; nginx: number; portkey: number };
}

export interface Verdict {
  target: string;
  measured: string;
  /** null: could not be judged in this run (a target missing, or a separate command). */
  met: boolean | null;
}

const pct = (v: number) => `${(v * 100).toFixed(0)} %`;
const judge = (ok: boolean, ...inputs: number[]) => (inputs.every(Number.isFinite) ? ok : null);

/**
 * Whether `a`'s knee is at least half of `b`'s. A knee not ended by the target itself is only a lower
 * bound, so the answer may be unknown (null): `a` above half of a lower bound of `b` proves nothing.
 */
export function halfOf(a: Knee, b: Knee): boolean | null {
  const ka = a.knee ?? 0;
  const kb = b.knee ?? 0;
  if (kb === 0 && ka === 0) return null; // both under the first step
  if (ka >= 0.5 * kb) return b.limitedBy === 'target' ? true : null;
  return a.limitedBy === 'target' ? false : null;
}

/** Each target of the suite with the measured value and met / not met. */
export function verdicts(m: Measured): Verdict[] {
  // No step at all: the only way to a null knee that no step ended.
  const unswept = m.knee.proxy.knee === null && m.knee.proxy.limitedBy === 'steps';
  const said = (text: string, ...inputs: number[]) => (inputs.every(Number.isFinite) ? text : 'not measured');
  const pk = m.knee.proxy.knee ?? 0;
  const kneeNote = (k: Knee) => (k.limitedBy === 'target' ? '' : ` (≥: limited by ${k.limitedBy})`);
  const out: Verdict[] = [
    {
      target: 'stream capacity: zai-proxy knee ≥ 1,000 paced streams',
      measured: unswept ? 'not measured' : `${m.knee.proxy.knee ?? '<first step'}${kneeNote(m.knee.proxy)}`,
      // A knee bounded by the load generator below 1,000 is not a miss of the proxy's, but not met either.
      met: pk >= 1000 ? true : m.knee.proxy.limitedBy === 'target' ? false : null,
    },
    {
      target: "stream capacity: zai-proxy knee ≥ 50 % of nginx's",
      measured: unswept
        ? 'not measured'
        : m.knee.nginx === null
          ? 'nginx not run'
          : `${pk} vs nginx ${m.knee.nginx.knee ?? 0}`,
      met: m.knee.nginx === null ? null : halfOf(m.knee.proxy, m.knee.nginx),
    },
    {
      target: 'memory: RSS slope ≤ 50 KB per open stream',
      measured: said(`${(m.rssSlopeBytes / 1024).toFixed(1)} KB/stream`, m.rssSlopeBytes),
      met: judge(m.rssSlopeBytes <= 50 * 1024, m.rssSlopeBytes),
    },
    {
      target: 'memory: RSS after 200k requests within 10 % of steady',
      measured: said(`${m.rssGrowth >= 0 ? '+' : ''}${pct(m.rssGrowth)}`, m.rssGrowth),
      met: judge(m.rssGrowth <= 0.1, m.rssGrowth),
    },
    {
      target: "added latency at c=1 ≤ 3× nginx's",
      measured: said(
        `+${m.addedC1.proxy.toFixed(0)} µs vs nginx +${m.addedC1.nginx.toFixed(0)} µs`,
        m.addedC1.proxy,
        m.addedC1.nginx,
      ),
      met: judge(m.addedC1.proxy <= 3 * m.addedC1.nginx, m.addedC1.proxy, m.addedC1.nginx),
    },
    {
      target: "throughput at c=64 ≥ 50 % of nginx's",
      measured: said(pct(m.rpsC64.proxy / m.rpsC64.nginx), m.rpsC64.proxy, m.rpsC64.nginx),
      met: judge(m.rpsC64.proxy >= 0.5 * m.rpsC64.nginx, m.rpsC64.proxy, m.rpsC64.nginx),
    },
    {
      target: "throughput at c=64 ≥ 8× Portkey's",
      measured: said(`${(m.rpsC64.proxy / m.rpsC64.portkey).toFixed(1)}×`, m.rpsC64.proxy, m.rpsC64.portkey),
      met: judge(m.rpsC64.proxy >= 8 * m.rpsC64.portkey, m.rpsC64.proxy, m.rpsC64.portkey),
    },
    {
      target: "added time to first byte on streams ≤ 3× nginx's",
      measured: said(
        `+${m.addedTtfb.proxy.toFixed(0)} µs vs nginx +${m.addedTtfb.nginx.toFixed(0)} µs`,
        m.addedTtfb.proxy,
        m.addedTtfb.nginx,
      ),
      met: judge(m.addedTtfb.proxy <= 3 * m.addedTtfb.nginx, m.addedTtfb.proxy, m.addedTtfb.nginx),
    },
  ];
  return out;
}
