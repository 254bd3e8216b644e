import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideCanary, type MinuteSlice, type VariantWindow } from './verdict.ts';

const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);
// TTFB-like layout (per-bucket counts): ≤5 ms, ≤10, ≤25, ≤50, ≤100, ≤250, ≤500, +Inf.
const BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, Number.POSITIVE_INFINITY];
const HEALTHY = [40, 30, 20, 6, 3, 1, 0, 0];

const quiet = (n = 2): MinuteSlice[] =>
  Array.from({ length: n }, () => ({
    requests: 20,
    errors: 0,
    ttfbP95Ms: 25,
    ttfbBuckets: [8, 6, 5, 1, 0, 0, 0, 0],
  }));

function win(variant: string, over: Partial<VariantWindow> = {}): VariantWindow {
  return {
    variant,
    requests: 200,
    errors: 1,
    ratePerSec: 1,
    overhead: { buckets: HEALTHY, p95Ms: 40 },
    ttfb: { buckets: HEALTHY, p95Ms: 40 },
    tokenCountP99Ms: 2,
    tokenCountObservations: 200,
    zaiErrors: {},
    lastMinutes: quiet(),
    ...over,
  };
}

const decide = (c: Partial<VariantWindow>, b: Partial<VariantWindow> = {}) =>
  decideCanary({ baseline: win('production', b), candidate: win('canary', c), nowMs: NOW });

describe('decideCanary', () => {
  test('healthy and identical with enough data: promote', () => {
    const r = decide({});
    assert.equal(r.verdict, 'promote');
    assert.equal(r.forced, false);
    assert.equal(r.confidence, 0.95);
    assert.deepEqual(
      r.metrics.map((m) => [m.metric, m.outcome]),
      [
        ['error_ratio', 'pass'],
        ['overhead', 'pass'],
        ['ttfb', 'pass'],
        ['zai_error_mix', 'inconclusive'],
        ['token_count_p99', 'pass'],
      ],
    );
  });

  test('below the minimum sample: insufficient data, how many more and about when', () => {
    const r = decide({ requests: 20, ratePerSec: 0.5, errors: 0 });
    assert.equal(r.verdict, 'insufficient_data');
    assert.deepEqual(r.needed, { requests: 30, variant: 'canary', eta_seconds: 60, eta: NOW + 60_000 });
    assert.equal(r.confidence, null);
  });

  test('the variant further from the minimum is the one reported; no traffic means no eta', () => {
    const r = decide({ requests: 45 }, { requests: 10, ratePerSec: 0 });
    assert.deepEqual(r.needed, { requests: 40, variant: 'production', eta_seconds: null, eta: null });
  });

  test('the minimum sample is configurable', () => {
    const r = decideCanary({
      baseline: win('production'),
      candidate: win('canary', { requests: 120 }),
      nowMs: NOW,
      thresholds: { minSample: 150 },
    });
    assert.equal(r.verdict, 'insufficient_data');
    assert.equal(r.needed?.requests, 30);
  });

  test('a canary whose upstream fails: rollback on the error ratio', () => {
    const r = decide({ errors: 80 });
    assert.equal(r.verdict, 'rollback');
    assert.equal(r.deciding_metric, 'error_ratio');
    assert.ok(r.confidence! > 0.999);
  });

  test('a small error regression (3 % vs 0 %) holds; it is significant but not large', () => {
    const r = decide({ errors: 6 }, { errors: 0 });
    assert.equal(r.verdict, 'hold');
    assert.equal(r.deciding_metric, 'error_ratio');
  });

  test('passed-through 4xx and 429s are not errors: the caller leaves them out, so equal errors promote', () => {
    assert.equal(decide({ errors: 1 }, { errors: 1 }).verdict, 'promote');
  });

  test('a large, certain TTFB slowdown rolls back; a small one holds', () => {
    const slow = [0, 2, 8, 20, 40, 25, 5, 0];
    assert.equal(decide({ ttfb: { buckets: slow, p95Ms: 300 } }).verdict, 'rollback');
    // A quarter of the canary's fastest requests one bucket slower, over 400 requests: P(slower) ≈ 0.58.
    const base = HEALTHY.map((x) => x * 4);
    const bit = [120, 130, 90, 26, 21, 7, 6, 0];
    const r = decide({ ttfb: { buckets: bit, p95Ms: 50 } }, { ttfb: { buckets: base, p95Ms: 40 } });
    assert.equal(r.verdict, 'hold');
    assert.equal(r.deciding_metric, 'ttfb');
    const m = r.metrics.find((x) => x.metric === 'ttfb')!;
    assert.ok(m.effect! > 0.56 && m.effect! < 0.71, String(m.effect));
  });

  test('a significant rank shift with a p95 under 10 % slower does not hold', () => {
    const base = HEALTHY.map((x) => x * 4);
    const bit = [120, 130, 90, 26, 21, 7, 6, 0];
    const r = decide({ ttfb: { buckets: bit, p95Ms: 43 } }, { ttfb: { buckets: base, p95Ms: 40 } });
    assert.equal(r.verdict, 'promote', JSON.stringify(r.metrics));
  });

  test('a significant rank shift with a p95 under 5 ms slower does not hold, even above 10 %', () => {
    const base = HEALTHY.map((x) => x * 4);
    const bit = [120, 130, 90, 26, 21, 7, 6, 0];
    // Two identical proxies on a loaded host: 18.4 vs 16.4 ms (1.12×) at p = 0.0005.
    const r = decide(
      { overhead: { buckets: bit, p95Ms: 18.4 } },
      { overhead: { buckets: base, p95Ms: 16.4 } },
    );
    assert.equal(r.verdict, 'promote', JSON.stringify(r.metrics));
    const slower = decide(
      { overhead: { buckets: bit, p95Ms: 22 } },
      { overhead: { buckets: base, p95Ms: 16.4 } },
    );
    assert.equal(slower.verdict, 'hold');
  });

  test('a faster canary is not a regression (one-sided)', () => {
    const fast = [90, 8, 2, 0, 0, 0, 0, 0];
    assert.equal(decide({ overhead: { buckets: fast, p95Ms: 8 } }).verdict, 'promote');
  });

  test('rank tests with too few observations are inconclusive and do not block promote', () => {
    const few = [10, 5, 0, 0, 0, 0, 0, 0];
    const r = decide({ overhead: { buckets: few, p95Ms: 8 } });
    assert.equal(r.metrics.find((m) => m.metric === 'overhead')!.outcome, 'inconclusive');
    assert.equal(r.verdict, 'promote');
  });

  test('no histogram (metric not exported) is not applicable', () => {
    const r = decide({ overhead: null }, { overhead: null });
    assert.equal(r.metrics.find((m) => m.metric === 'overhead')!.outcome, 'not_applicable');
  });

  test('forced: error ratio above 10 % in each of the last 2 minutes rolls back below the minimum sample', () => {
    const lastMinutes = [
      { requests: 8, errors: 6, ttfbP95Ms: 30, ttfbBuckets: [1, 1, 0, 0, 0, 0, 0, 0] },
      { requests: 7, errors: 7, ttfbP95Ms: null, ttfbBuckets: [] },
    ];
    const r = decide({ requests: 15, errors: 13, lastMinutes });
    assert.equal(r.verdict, 'rollback');
    assert.equal(r.forced, true);
    assert.equal(r.deciding_metric, 'error_ratio');
    assert.equal(r.confidence, null);
  });

  test('forced needs both minutes: one bad minute alone is not a trigger', () => {
    const lastMinutes = [
      { requests: 10, errors: 0, ttfbP95Ms: 30, ttfbBuckets: [] },
      { requests: 7, errors: 7, ttfbP95Ms: null, ttfbBuckets: [] },
    ];
    assert.equal(decide({ requests: 17, errors: 7, lastMinutes }).verdict, 'insufficient_data');
  });

  test('forced needs the minute to be clear: 2 of 8 failed is above 10 % but could be noise', () => {
    const lastMinutes = [
      { requests: 8, errors: 2, ttfbP95Ms: 30, ttfbBuckets: [] },
      { requests: 8, errors: 2, ttfbP95Ms: 30, ttfbBuckets: [] },
    ];
    assert.equal(decide({ requests: 16, errors: 4, lastMinutes }).verdict, 'insufficient_data');
  });

  test('forced: p95 TTFB doubled for 2 minutes rolls back', () => {
    const slow = [0, 0, 2, 5, 3, 0, 0, 0];
    const lastMinutes = [
      { requests: 10, errors: 0, ttfbP95Ms: 80, ttfbBuckets: slow },
      { requests: 10, errors: 0, ttfbP95Ms: 51, ttfbBuckets: slow },
    ];
    const r = decide({ requests: 20, errors: 0, lastMinutes });
    assert.equal(r.verdict, 'rollback');
    assert.equal(r.deciding_metric, 'ttfb');
    assert.equal(r.forced, true);
    // p95 25 ms in production: 49 ms is not double.
    const notQuite = [lastMinutes[0]!, { ...lastMinutes[1]!, ttfbP95Ms: 49 }];
    assert.equal(decide({ requests: 20, errors: 0, lastMinutes: notQuite }).verdict, 'insufficient_data');
    // Doubled by one bucket of noise: the minute's rank test does not confirm it.
    const noisy = [8, 5, 5, 2, 0, 0, 0, 0];
    const noise = lastMinutes.map((m) => ({ ...m, ttfbBuckets: noisy }));
    assert.equal(decide({ requests: 20, errors: 0, lastMinutes: noise }).verdict, 'insufficient_data');
  });

  test('a different Z.AI error-class mix holds, never rolls back', () => {
    const r = decide(
      { zaiErrors: { concurrency: 40, quota: 0 } },
      { zaiErrors: { concurrency: 2, quota: 40 } },
    );
    assert.equal(r.verdict, 'hold');
    assert.equal(r.deciding_metric, 'zai_error_mix');
    assert.equal(
      decide({ zaiErrors: { concurrency: 21, quota: 19 } }, { zaiErrors: { concurrency: 20, quota: 22 } })
        .verdict,
      'promote',
    );
  });

  test('token-count p99 at the 100 ms gate holds when production is under it', () => {
    const r = decide({ tokenCountP99Ms: 100 });
    assert.equal(r.verdict, 'hold');
    assert.equal(r.deciding_metric, 'token_count_p99');
    assert.equal(decide({ tokenCountP99Ms: 100 }, { tokenCountP99Ms: 100 }).verdict, 'promote');
  });

  test('odd input does not throw: NaN quantiles, zero requests, mismatched bucket layouts', () => {
    const r = decide(
      { requests: 0, errors: 0, ratePerSec: Number.NaN, ttfb: { buckets: [1, 2], p95Ms: Number.NaN } },
      { requests: 0, errors: 0 },
    );
    assert.equal(r.verdict, 'insufficient_data');
    assert.equal(r.needed!.eta_seconds, null);
    const json = JSON.stringify(r);
    assert.ok(!json.includes('NaN'));
  });
});

// --- seeded A/A simulation ---------------------------------------------------------------------

/** mulberry32: a small seeded PRNG so the simulation is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LATENCY_P = [0.35, 0.3, 0.2, 0.08, 0.04, 0.02, 0.01, 0];

function bucketOf(u: number): number {
  let acc = 0;
  for (let i = 0; i < LATENCY_P.length; i++) {
    acc += LATENCY_P[i]!;
    if (u < acc) return i;
  }
  return LATENCY_P.length - 1;
}

function p95(buckets: number[]): number | null {
  const n = buckets.reduce((s, x) => s + x, 0);
  if (n === 0) return null;
  let acc = 0;
  for (let i = 0; i < buckets.length; i++) {
    acc += buckets[i]!;
    if (acc >= 0.95 * n) return BOUNDS_MS[i]!;
  }
  return null;
}

/** One variant's window of `n` requests (the last 2 minutes get `perMinute` each) from the same distribution. */
function simulateVariant(
  variant: string,
  r: () => number,
  n: number,
  errorP: number,
  perMinute: number,
): VariantWindow {
  const overhead = new Array(LATENCY_P.length).fill(0);
  const ttfb = new Array(LATENCY_P.length).fill(0);
  let errors = 0;
  const minutes: MinuteSlice[] = [];
  for (let m = 0; m < 2; m++) {
    const tt = new Array(LATENCY_P.length).fill(0);
    let e = 0;
    for (let i = 0; i < perMinute; i++) {
      if (r() < errorP) e++;
      tt[bucketOf(r())]++;
    }
    minutes.push({ requests: perMinute, errors: e, ttfbP95Ms: p95(tt), ttfbBuckets: tt });
  }
  const zai: Record<string, number> = { concurrency: 0, frequency: 0 };
  for (let i = 0; i < n; i++) {
    if (r() < errorP) errors++;
    overhead[bucketOf(r())]++;
    ttfb[bucketOf(r())]++;
    if (r() < 0.1) zai[r() < 0.7 ? 'concurrency' : 'frequency']!++;
  }
  return {
    variant,
    requests: n,
    errors,
    ratePerSec: n / 600,
    overhead: { buckets: overhead, p95Ms: p95(overhead) },
    ttfb: { buckets: ttfb, p95Ms: p95(ttfb) },
    tokenCountP99Ms: 3,
    tokenCountObservations: n,
    zaiErrors: zai,
    lastMinutes: minutes,
  };
}

describe('A/A simulation (seeded)', () => {
  test('identical variants are rolled back in under 5 % of 2000 windows, and mostly promoted', () => {
    const r = rng(20261201);
    const counts = { promote: 0, hold: 0, rollback: 0, insufficient_data: 0 };
    const runs = 2000;
    for (let i = 0; i < runs; i++) {
      const n = 60 + Math.floor(r() * 400);
      const errorP = [0.005, 0.02, 0.05, 0.09][i % 4]!;
      const perMinute = 5 + Math.floor(r() * 30);
      const v = decideCanary({
        baseline: simulateVariant('production', r, n, errorP, perMinute),
        candidate: simulateVariant('canary', r, n, errorP, perMinute),
        nowMs: NOW,
      });
      counts[v.verdict]++;
    }
    assert.ok(counts.rollback / runs < 0.05, JSON.stringify(counts));
    assert.ok(counts.promote / runs > 0.8, JSON.stringify(counts));
    assert.equal(counts.insufficient_data, 0);
  });

  test('the same simulation with a broken canary (30 % errors) rolls back nearly always', () => {
    const r = rng(7);
    let rollbacks = 0;
    for (let i = 0; i < 200; i++) {
      const v = decideCanary({
        baseline: simulateVariant('production', r, 200, 0.01, 20),
        candidate: simulateVariant('canary', r, 200, 0.3, 20),
        nowMs: NOW,
      });
      if (v.verdict === 'rollback') rollbacks++;
    }
    assert.ok(rollbacks >= 195, String(rollbacks));
  });
});
