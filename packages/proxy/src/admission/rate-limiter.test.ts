import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createBucket,
  evaluate,
  holdRate,
  initialRate,
  MIN_WINDOW_SAMPLES,
  type RateConfig,
  type RateState,
  type RateStep,
  recordRequest,
  restoreRate,
  setBucketRate,
  takeToken,
  WINDOW_MS,
} from './rate-limiter.ts';

// The Go proxy's defaults.
const CFG: RateConfig = {
  initial: 10,
  min: 1,
  max: 50,
  alpha: 0.3,
  holdMargin: 0.02,
  probeInterval: 10,
  windowMs: WINDOW_MS,
  minSamples: MIN_WINDOW_SAMPLES,
};
const T0 = Date.UTC(2026, 11, 1);

/** One window of `total` requests of which `throttled` met a frequency 429, ending windowMs later. */
function windowOf(s: RateState, throttled: number, total: number, cfg = CFG): RateStep {
  const end = s.windowStart + cfg.windowMs;
  return evaluate({ ...s, ok: s.ok + total - throttled, throttled: s.throttled + throttled }, cfg, end);
}

/** Runs windows where upstream accepts `sustainable` req/s and the proxy sends at its rate. */
function converge(s: RateState, sustainable: number, windows: number, cfg = CFG): RateState[] {
  const seen: RateState[] = [];
  for (let i = 0; i < windows; i++) {
    const total = Math.round((s.rate * cfg.windowMs) / 1000);
    const throttled = Math.max(0, total - Math.round((sustainable * cfg.windowMs) / 1000));
    s = windowOf(s, throttled, total, cfg).state;
    seen.push(s);
  }
  return seen;
}

describe('windows', () => {
  test('thresholds: < 1 % clean, > 5 % backoff, 1–5 % (both ends) middle keeps the clean count', () => {
    const rows: [number, number, string, number][] = [
      // throttled, total, change, clean windows after (starting from 3)
      [9, 1000, 'increase-or-none', 4],
      [10, 1000, 'none', 3], // exactly 1 %: middle
      [11, 1000, 'none', 3],
      [50, 1000, 'none', 3], // exactly 5 %: middle
      [51, 1000, 'decrease', 0],
    ];
    for (const [throttled, total, change, clean] of rows) {
      const s = { ...initialRate(CFG, T0), cleanWindows: 3, rate: 9.8 };
      const r = windowOf(s, throttled, total);
      if (change !== 'increase-or-none') assert.equal(r.change, change, `${throttled}/${total}`);
      assert.equal(r.state.cleanWindows, clean, `${throttled}/${total}`);
    }
  });

  test('repeated crossings count only clean windows', () => {
    let s = { ...initialRate(CFG, T0), rate: 9.8 };
    for (const [t, n] of [
      [0, 100],
      [2, 100],
      [0, 100],
      [3, 100],
      [0, 100],
    ] as const)
      s = windowOf(s, t, n).state;
    assert.equal(s.cleanWindows, 3);
  });

  test('a window is not judged before 30 s, nor with fewer than the minimum sample', () => {
    const s = initialRate(CFG, T0);
    const early = evaluate({ ...s, throttled: 100 }, CFG, T0 + WINDOW_MS - 1);
    assert.equal(early.change, 'none');
    assert.equal(early.state.throttled, 100, 'counts carry over');
    // One request that met a 429 is not a 100 % window: the window stays open until the sample.
    const one = evaluate({ ...s, throttled: 1 }, CFG, T0 + 10 * WINDOW_MS);
    assert.equal(one.change, 'none');
    assert.equal(one.state.rate, 10);
    let r = { ...s, throttled: 1 };
    for (let i = 0; i < MIN_WINDOW_SAMPLES - 1; i++)
      r = recordRequest(r, CFG, true, T0 + 10 * WINDOW_MS).state;
    assert.ok(r.rate < 10, 'judged once the sample is complete');
  });
});

describe('backoff', () => {
  test('the drop for 90 % throttled is more than 3× the drop for 10 %', () => {
    const s = initialRate(CFG, T0);
    const total = (s.rate * WINDOW_MS) / 1000; // demand at the rate
    const d90 = s.rate - windowOf(s, 0.9 * total, total).state.rate;
    const d10 = s.rate - windowOf(s, 0.1 * total, total).state.rate;
    assert.ok(d90 > 3 * d10, `d90 ${d90} d10 ${d10}`);
  });

  test('from 10 req/s against 1 req/s sustainable: ≤ 1.5 req/s within 10 windows', () => {
    const seen = converge(initialRate(CFG, T0), 1, 10);
    assert.ok(seen.at(-1)!.rate <= 1.5, `rates ${seen.map((s) => s.rate.toFixed(2)).join(' ')}`);
  });

  test('the first heavy window never raises the rate above the initial rate', () => {
    const s = initialRate(CFG, T0);
    const r = windowOf(s, 290, 300);
    assert.ok(r.state.rate <= CFG.initial);
    assert.equal(r.ceilingChanged, true);
  });

  test('ceiling and rate never fall below min, even after 30 windows of 100 % throttled', () => {
    let s = initialRate(CFG, T0);
    for (let i = 0; i < 30; i++) s = windowOf(s, 300, 300).state;
    assert.equal(s.ceiling, CFG.min);
    assert.equal(s.rate, CFG.min);
  });

  test('the EWMA takes the observed request rate, not the configured one', () => {
    const s = { ...initialRate(CFG, T0), rate: 40, ceiling: 40 };
    // 60 requests in 30 s (2 req/s), 10 % throttled: upstream accepted 1.8 req/s, not 36.
    const r = windowOf(s, 6, 60);
    assert.ok(Math.abs(r.state.ceiling - (0.3 * 1.8 + 0.7 * 40)) < 1e-9);
  });
});

describe('clean windows, convergence and probes', () => {
  test('converges up to the hold by half the gap, at least 0.25 req/s, never past it', () => {
    let s = { ...initialRate(CFG, T0), rate: 5, ceiling: 10 }; // hold 9.8
    const rates: number[] = [];
    for (let i = 0; i < 6; i++) {
      s = windowOf(s, 0, 100).state;
      rates.push(Number(s.rate.toFixed(4)));
    }
    assert.deepEqual(rates, [7.4, 8.6, 9.2, 9.5, 9.75, 9.8]);
  });

  test('probe with interval 1 fires on the first clean window: ceiling × 1.02, counter reset', () => {
    const cfg = { ...CFG, probeInterval: 1 };
    const s = { ...initialRate(cfg, T0), rate: 9.8 };
    const r = windowOf(s, 0, 100, cfg);
    assert.equal(r.change, 'probe');
    assert.equal(r.state.rate, 10.2);
    assert.equal(r.state.cleanWindows, 0);
  });

  test('probe interval 0 disables probing: the rate stays at the hold', () => {
    const cfg = { ...CFG, probeInterval: 0 };
    let s = { ...initialRate(cfg, T0), rate: 9.8 };
    for (let i = 0; i < 50; i++) s = windowOf(s, 0, 100, cfg).state;
    assert.equal(s.rate, 9.8);
  });

  test('a probe that held clean raises the ceiling, then holds just below it; the next probe starts there', () => {
    const cfg = { ...CFG, probeInterval: 1 };
    let s = windowOf({ ...initialRate(cfg, T0), rate: 9.8 }, 0, 100, cfg).state; // probing at 10.2
    const held = windowOf(s, 0, 100, cfg);
    assert.equal(held.ceilingChanged, true);
    assert.equal(held.state.ceiling, 10.2);
    // interval 1 probes again at once, from the raised ceiling
    assert.equal(held.state.rate, 10.2 * 1.02);
    const cfg10 = { ...CFG, probeInterval: 10 };
    s = { ...initialRate(cfg10, T0), rate: 10.2, probing: true };
    const r = windowOf(s, 0, 100, cfg10);
    assert.equal(r.state.ceiling, 10.2);
    assert.equal(r.state.rate, holdRate(r.state, cfg10), 'holds below the raised ceiling, not at it');
  });

  test('a probe whose window was not clean goes back to the hold, never stays above it', () => {
    const s = { ...initialRate(CFG, T0), rate: 10.2, probing: true };
    const r = windowOf(s, 3, 100); // 3 %: middle
    assert.equal(r.state.rate, 9.8);
    assert.equal(r.state.ceiling, 10);
    assert.equal(r.ceilingChanged, false);
  });

  test('never probes above max', () => {
    const cfg = { ...CFG, max: 10, probeInterval: 1 };
    let s = { ...initialRate(cfg, T0), rate: 9.8 };
    for (let i = 0; i < 20; i++) s = windowOf(s, 0, 100, cfg).state;
    assert.ok(s.rate <= 10 && s.ceiling <= 10);
  });
});

describe('restore', () => {
  const MAX40 = { ...CFG, max: 40 };
  test('clamps: ceiling 500 → max; hold 0.001 → min; hold above the ceiling → the ceiling', () => {
    assert.equal(restoreRate(MAX40, { ceiling: 500, hold: 20 }, T0, T0)!.ceiling, 40);
    assert.equal(restoreRate(MAX40, { ceiling: 20, hold: 0.001 }, T0, T0)!.rate, 1);
    assert.equal(restoreRate(MAX40, { ceiling: 20, hold: 30 }, T0, T0)!.rate, 20);
    const r = restoreRate(MAX40, { ceiling: 12, hold: 11.76 }, T0 - 5, T0)!;
    assert.equal(r.ceilingUpdatedAt, T0 - 5);
    assert.equal(r.cleanWindows, 0);
  });
  test('rejects ceiling or hold ≤ 0 and other shapes', () => {
    for (const d of [
      { ceiling: 0, hold: 1 },
      { ceiling: 5, hold: 0 },
      { ceiling: '5', hold: 1 },
      null,
      7,
      [],
    ])
      assert.equal(restoreRate(MAX40, d, T0, T0), null, JSON.stringify(d));
  });
});

describe('token bucket', () => {
  test('after the burst is drained each token takes 1/rate s, at 2, 4 and 16 req/s', () => {
    for (const rate of [2, 4, 16]) {
      const b = createBucket(rate, T0);
      assert.equal(b.burst, Math.floor(2 * rate));
      for (let i = 0; i < b.burst; i++) assert.equal(takeToken(b, T0), 0);
      const wait = takeToken(b, T0);
      assert.equal(wait, Math.ceil(1000 / rate));
      assert.equal(takeToken(b, T0 + wait), 0);
    }
  });
  test('burst is max(1, ⌊2 × rate⌋); a rate change keeps tokens up to the new burst', () => {
    const b = createBucket(0.3, T0);
    assert.equal(b.burst, 1);
    const c = createBucket(10, T0);
    setBucketRate(c, 2, T0);
    assert.equal(c.burst, 4);
    assert.equal(c.tokens, 4);
  });
});
