import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ConcurrencyConfig,
  type ConcurrencyOutcome,
  type ConcurrencyState,
  hold,
  initialState,
  release,
  slots,
  type Ticket,
} from './concurrency-limiter.ts';

const CFG: ConcurrencyConfig = { initial: 2, min: 1, max: 64, backoff: 0.75, probeRounds: 5 };
const st = (over: Partial<ConcurrencyState> = {}): ConcurrencyState => ({
  ...initialState(CFG),
  ...over,
});
const ticket = (s: ConcurrencyState, level: number): Ticket => ({ episode: s.episode, level });
const ok = (s: ConcurrencyState, level: number, inflight = level) =>
  release(s, CFG, ticket(s, level), 'ok', inflight).state;

describe('start and slow start', () => {
  test('starts at the initial limit, no ceiling', () => {
    const s = initialState(CFG);
    assert.equal(s.limit, 2);
    assert.equal(s.ceiling, null);
  });

  test('while no ceiling is known, each used success adds one slot, up to max', () => {
    let s = st();
    for (let i = 0; i < 4; i++) s = ok(s, slots(s));
    assert.equal(s.limit, 6);
    s = st({ limit: 64 });
    assert.equal(ok(s, 64).limit, 64);
  });

  test('successes while the limit is not used (in flight × 2 < limit) never grow it', () => {
    const rows: [number, number, boolean][] = [
      // limit, in flight at release, grows
      [10, 4, false],
      [10, 5, true],
      [2, 1, true],
      [3, 1, false],
    ];
    for (const [limit, inflight, grows] of rows) {
      const s = st({ limit });
      const r = release(s, CFG, ticket(s, inflight), 'ok', inflight);
      assert.equal(r.state.limit > limit, grows, `limit ${limit} inflight ${inflight}`);
      if (!grows) assert.equal(r.state, s, 'unchanged state is the same object');
    }
  });

  test('neutral outcomes (other failures, cancellations) change nothing', () => {
    const s = st({ limit: 5, ceiling: 6 });
    for (const o of ['neutral'] as ConcurrencyOutcome[])
      assert.equal(release(s, CFG, ticket(s, 5), o, 5).state, s);
  });
});

describe('cut on 1302', () => {
  test('cut to min(limit × backoff, level − 1) and remember the level as the ceiling', () => {
    const rows: [number, number, number][] = [
      // limit, level of the 1302, new limit
      [8, 8, 6],
      [8, 4, 3],
      [4, 4, 3],
      [2, 2, 1],
      [1, 1, 1], // never below min
      [40, 40, 30],
    ];
    for (const [limit, level, want] of rows) {
      const s = st({ limit });
      const r = release(s, CFG, ticket(s, level), 'concurrency', level);
      assert.equal(r.change, 'decrease');
      assert.equal(r.state.limit, want, `limit ${limit} level ${level}`);
      assert.equal(r.state.ceiling, Math.max(level, CFG.min + 1));
      assert.equal(r.state.episode, s.episode + 1);
    }
  });

  test('once per congestion episode: 1302s of attempts admitted before the cut do not cut again', () => {
    let s = st({ limit: 8 });
    const inFlight = Array.from({ length: 8 }, (_, i) => ticket(s, i + 1));
    let cuts = 0;
    for (const t of inFlight.reverse()) {
      const r = release(s, CFG, t, 'concurrency', t.level);
      if (r.change === 'decrease') cuts++;
      s = r.state;
    }
    assert.equal(cuts, 1);
    assert.equal(s.limit, 6);
    // An attempt admitted after the cut belongs to the new episode and cuts again.
    const r = release(s, CFG, ticket(s, 6), 'concurrency', 6);
    assert.equal(r.change, 'decrease');
    assert.equal(r.state.limit, 4.5);
  });

  test('a success of an attempt admitted before the cut does not count as a raised cap', () => {
    const before = st({ limit: 8 });
    const old = ticket(before, 8);
    const s = release(before, CFG, ticket(before, 8), 'concurrency', 8).state;
    const r = release(s, CFG, old, 'ok', 7);
    assert.notEqual(r.change, 'cap_raised');
    assert.equal(r.state.ceiling, 8);
  });
});

describe('hold, probe, raise', () => {
  test('below the hold: +1 per round (1/limit per used success), never past the hold', () => {
    let s = st({ limit: 3, ceiling: 8 }); // hold 7
    assert.equal(hold(s, CFG), 7);
    let n = 0;
    while (s.limit < 7 && n < 100) {
      s = ok(s, slots(s));
      n++;
    }
    assert.equal(s.limit, 7);
    assert.ok(n >= 14 && n <= 24, `about one round (limit successes) per slot, took ${n}`);
  });

  test('at the hold: probe one slot above after probeRounds × limit clean successes', () => {
    let s = st({ limit: 3, ceiling: 4 });
    let change = 'none';
    let n = 0;
    while (change !== 'probe') {
      const r = release(s, CFG, ticket(s, 3), 'ok', 3);
      s = r.state;
      change = r.change;
      n++;
    }
    assert.equal(n, CFG.probeRounds * 3);
    assert.equal(slots(s), 4);
  });

  test('a failed probe drops back to the hold and doubles the wait for the next, up to 2×', () => {
    let s = st({ limit: 4, ceiling: 4 }); // probing: one slot above the hold of 3
    const backoffs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = release(st({ ...s, limit: 4 }), CFG, ticket(s, 4), 'concurrency', 4);
      assert.equal(r.change, 'probe_failed');
      assert.equal(r.state.limit, 3);
      assert.equal(r.state.ceiling, 4);
      backoffs.push(r.state.probeBackoff);
      s = r.state;
    }
    assert.deepEqual(backoffs, [2, 2, 2, 2]);
  });

  test('a success at or above the ceiling forgets it and resumes slow start', () => {
    const s = st({ limit: 4, ceiling: 4, probeBackoff: 4 });
    const r = release(s, CFG, ticket(s, 4), 'ok', 4);
    assert.equal(r.change, 'cap_raised');
    assert.equal(r.state.ceiling, null);
    assert.equal(r.state.probeBackoff, 1);
    assert.equal(r.state.limit, 5);
  });

  test('at max there is nothing to probe', () => {
    const cfg = { ...CFG, max: 3 };
    let s: ConcurrencyState = { ...initialState(cfg), limit: 3, ceiling: 4 };
    for (let i = 0; i < 100; i++) s = release(s, cfg, { episode: s.episode, level: 3 }, 'ok', 3).state;
    assert.equal(s.limit, 3);
  });
});

describe('restore', () => {
  test('a restored state is clamped into bounds and under its ceiling; junk is ignored', () => {
    const rows: [unknown, number, number | null][] = [
      [{ limit: 5, ceiling: 6 }, 5, 6],
      [{ limit: 9, ceiling: 6 }, 5, 6],
      [{ limit: 500 }, 64, null],
      [{ limit: 0.2 }, 1, null],
      [{ limit: 0 }, 2, null],
      [{ limit: -3 }, 2, null],
      [{ limit: 'x' }, 2, null],
      [{ limit: Number.NaN }, 2, null],
      [{ limit: 3, ceiling: 'x' }, 3, null],
      [null, 2, null],
    ];
    for (const [doc, limit, ceiling] of rows) {
      const s = initialState(CFG, doc as Partial<ConcurrencyState>);
      assert.equal(s.limit, limit, JSON.stringify(doc));
      assert.equal(s.ceiling, ceiling, JSON.stringify(doc));
    }
  });
});

// Drives the controller against an upstream that admits `cap` attempts in flight, with as much
// demand as the limit allows, one completion at a time (the oldest attempt finishes first).
function simulate(cap: number, start: ConcurrencyState, completions: number) {
  let s = start;
  const running: Ticket[] = [];
  let rejected = 0;
  for (let i = 0; i < completions; i++) {
    while (running.length < slots(s)) {
      const t: Ticket = { episode: s.episode, level: running.length + 1 };
      if (running.length + 1 > cap) {
        rejected++;
        s = release(s, CFG, t, 'concurrency', running.length + 1).state;
      } else running.push(t);
    }
    const t = running.shift()!;
    s = release(s, CFG, t, 'ok', running.length + 1).state;
  }
  return { s, rejected };
}

test('simulated: from the initial limit against a cap of 3, it settles at 3 with few 1302s', () => {
  const { s, rejected } = simulate(3, initialState(CFG), 200);
  assert.equal(slots(s) <= 4, true);
  assert.ok(rejected <= 1 + 200 / (CFG.probeRounds * 3), `rejected ${rejected}`);
  const steady = simulate(3, s, 60);
  assert.ok(slots(steady.s) >= 3 && slots(steady.s) <= 4);
});

test('simulated: a cap cut from 8 to 2 is followed within a handful of 1302s', () => {
  const high = simulate(8, initialState(CFG), 100).s;
  assert.ok(slots(high) >= 8);
  const { s, rejected } = simulate(2, high, 20);
  assert.ok(slots(s) <= 3, `limit ${s.limit}`);
  assert.ok(rejected <= 8, `rejected ${rejected}`);
});
