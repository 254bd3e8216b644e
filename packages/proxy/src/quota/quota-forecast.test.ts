import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addPoint,
  EXTERNAL_TOLERANCE,
  type ForecastPoint,
  forecast,
  type WindowHistory,
} from './quota-forecast.ts';

const T0 = Date.UTC(2026, 8, 5, 14, 0, 0);
const MIN = 60_000;
const H = 60 * MIN;

/** Feeds one sample per minute: `step(i)` gives the used increase and own units of minute i. */
function script(
  minutes: number,
  step: (i: number) => { dUsed: number; dOwn: number },
  o: { resetAtMs?: number | null; limit?: number | null; used0?: number } = {},
): { h: WindowHistory; now: number } {
  let h: WindowHistory = [];
  let used = o.used0 ?? 0;
  let own = 0;
  for (let i = 0; i <= minutes; i++) {
    if (i > 0) {
      const s = step(i);
      used += s.dUsed;
      own += s.dOwn;
    }
    const p: ForecastPoint = {
      atMs: T0 + i * MIN,
      used: Math.min(1, used),
      resetAtMs: o.resetAtMs === undefined ? T0 + 5 * H : o.resetAtMs,
      ownUnits: own,
      limit: o.limit ?? null,
    };
    h = addPoint(h, p);
  }
  return { h, now: T0 + minutes * MIN };
}

const close = (a: number | null, b: number, eps = 1e-9) => {
  assert.ok(a !== null && Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
};

describe('forecast: burn and projection', () => {
  test('steady burn of 10 %/h: exhausted in 8 h, after a reset due in 5 h → not before reset', () => {
    const { h, now } = script(60, () => ({ dUsed: 0.1 / 60, dOwn: 10 }), { used0: 0.1 });
    const f = forecast(h, now);
    close(f.burnPerHour, 0.1);
    assert.equal(f.projection, 'not_before_reset');
    assert.equal(f.exhaustsAtMs, null);
  });

  test('the same burn with a reset 10 h away: runs out at 8 h from the last sample', () => {
    const { h, now } = script(60, () => ({ dUsed: 0.1 / 60, dOwn: 10 }), {
      used0: 0.1,
      resetAtMs: T0 + 10 * H,
    });
    const f = forecast(h, now);
    assert.equal(f.projection, 'before_reset');
    assert.ok(Math.abs(f.exhaustsAtMs! - (now + 8 * H)) < 1000);
  });

  test('bursts: the horizon sees the burst; an idle hour after it is no burn', () => {
    // 30 % in the first 10 min, then idle: 30 %/h over the hour, exhausted before a 5 h reset.
    const burst = script(60, (i) => (i <= 10 ? { dUsed: 0.03, dOwn: 100 } : { dUsed: 0, dOwn: 0 }));
    const f = forecast(burst.h, burst.now);
    close(f.burnPerHour, 0.3);
    assert.equal(f.projection, 'before_reset');
    const idle = script(130, (i) => (i <= 10 ? { dUsed: 0.03, dOwn: 100 } : { dUsed: 0, dOwn: 0 }));
    const g = forecast(idle.h, idle.now);
    close(g.burnPerHour, 0);
    assert.equal(g.projection, 'not_before_reset');
  });

  test('a spent window is exhausted; one sample or a short span is insufficient data', () => {
    const full = script(10, () => ({ dUsed: 0.2, dOwn: 1 }));
    assert.equal(forecast(full.h, full.now).projection, 'exhausted');
    assert.equal(forecast([], T0).projection, 'insufficient_data');
    const short = script(4, () => ({ dUsed: 0.01, dOwn: 1 }));
    assert.equal(forecast(short.h, short.now).burnPerHour, null);
    assert.equal(forecast(short.h, short.now).projection, 'insufficient_data');
  });

  test('a reset starts a new period: the used fraction falls, or the reset instant moves', () => {
    let h = script(30, () => ({ dUsed: 0.01, dOwn: 1 })).h;
    h = addPoint(h, { atMs: T0 + 31 * MIN, used: 0.01, resetAtMs: T0 + 10 * H, ownUnits: 31, limit: null });
    assert.equal(h.length, 1);
    let g = script(30, () => ({ dUsed: 0.001, dOwn: 1 })).h;
    g = addPoint(g, { atMs: T0 + 31 * MIN, used: 0.031, resetAtMs: T0 + 10 * H, ownUnits: 31, limit: null });
    assert.equal(g.length, 1);
  });
});

describe('forecast: attribution to own traffic', () => {
  // Own traffic in bursts (every third minute idle), so own units and time can be told apart.
  const bursty = (i: number) => (i % 3 === 0 ? 0 : 50);
  const K = 0.0002; // quota fraction per own unit

  test('all burn explained by own traffic: external 0, k learned', () => {
    const { h } = script(60, (i) => ({ dUsed: K * bursty(i), dOwn: bursty(i) }));
    const a = forecast(h, T0 + 60 * MIN).attribution;
    assert.equal(a.state, 'ok');
    if (a.state !== 'ok') return;
    close(a.fractionPerOwnUnit, K, 1e-12);
    assert.equal(a.externalShare, 0);
    assert.equal(a.externalPerHour, 0);
  });

  test('half of the burn external: share 0.5 and its rate per hour', () => {
    // Own traffic burns 6.67 %/h on average (2/3 of minutes × 50 units × K × 60); add as much from elsewhere.
    const ownPerHour = K * 50 * 40;
    const { h } = script(60, (i) => ({ dUsed: K * bursty(i) + ownPerHour / 60, dOwn: bursty(i) }));
    const a = forecast(h, T0 + 60 * MIN).attribution;
    assert.equal(a.state, 'ok');
    if (a.state !== 'ok') return;
    close(a.externalShare, 0.5, 1e-9);
    close(a.externalPerHour, ownPerHour, 1e-9);
    close(a.fractionPerOwnUnit, K, 1e-12);
  });

  test('external burn within the tolerance is reported as 0', () => {
    const extPerHour = K * 50 * 40 * (EXTERNAL_TOLERANCE / 2);
    const { h } = script(60, (i) => ({ dUsed: K * bursty(i) + extPerHour / 60, dOwn: bursty(i) }));
    const a = forecast(h, T0 + 60 * MIN).attribution;
    assert.deepEqual(a.state === 'ok' && [a.externalShare, a.externalPerHour], [0, 0]);
  });

  test('no own traffic: every bit of burn is external', () => {
    const { h } = script(60, () => ({ dUsed: 0.001, dOwn: 0 }));
    const a = forecast(h, T0 + 60 * MIN).attribution;
    assert.equal(a.state, 'ok');
    if (a.state !== 'ok') return;
    assert.deepEqual([a.fractionPerOwnUnit, a.externalShare], [null, 1]);
    close(a.externalPerHour, 0.06, 1e-12);
  });

  test('steady own traffic cannot be told from time: the allowance decides, else insufficient data', () => {
    const steady = (limit: number | null) =>
      script(60, () => ({ dUsed: (2 * 10) / 10_000, dOwn: 10 }), { limit }).h;
    assert.deepEqual(forecast(steady(null), T0 + H).attribution, { state: 'insufficient_data' });
    // Allowance 10 000 units: own traffic explains half of the burn.
    const a = forecast(steady(10_000), T0 + H).attribution;
    assert.equal(a.state, 'ok');
    if (a.state === 'ok') close(a.externalShare, 0.5, 1e-9);
  });

  test('too few samples: insufficient data', () => {
    const { h } = script(3, (i) => ({ dUsed: K * bursty(i), dOwn: bursty(i) }));
    assert.deepEqual(forecast(h, T0 + 3 * MIN).attribution, { state: 'insufficient_data' });
  });
});
