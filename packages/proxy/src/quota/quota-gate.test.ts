import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyPoll,
  claimProbe,
  closeOnAnswer,
  type GateEntries,
  gateVerdict,
  openAfterProbe,
} from './quota-gate.ts';
import type { QuotaSnapshot, WindowSample } from './quota-schema.ts';

const T0 = Date.UTC(2026, 8, 5, 14, 0, 0);
const MIN = 60_000;
const H = 60 * MIN;
const PROBE = 5 * MIN;

const sample = (at: number, windows: Partial<WindowSample>[], planTier = 'pro'): QuotaSnapshot => ({
  fetchedAtMs: at,
  planTier,
  tools: null,
  windows: windows.map((w) => ({
    window: 'five_hour',
    limitType: 'TOKENS_LIMIT',
    usedFraction: 0,
    resetAtMs: null,
    used: null,
    limit: null,
    ...w,
  })),
});

describe('gateVerdict', () => {
  test('no entries: admit', () => {
    assert.deepEqual(gateVerdict([], T0), { admit: true, probe: false });
  });

  test('a known reset: reject with Retry-After until it, rounded up; admit from the reset on', () => {
    const e = closeOnAnswer([], 'five_hour', T0 + 90 * MIN + 500, T0, PROBE);
    assert.deepEqual(gateVerdict(e, T0), {
      admit: false,
      window: 'five_hour',
      retryAfterSec: 5401,
      probing: false,
    });
    assert.deepEqual(gateVerdict(e, T0 + 90 * MIN + 499), {
      admit: false,
      window: 'five_hour',
      retryAfterSec: 1,
      probing: false,
    });
    assert.deepEqual(gateVerdict(e, T0 + 90 * MIN + 500), { admit: true, probe: false });
  });

  test('a spent weekly window gates past the five-hour reset: the later reset is the answer', () => {
    let e = closeOnAnswer([], 'five_hour', T0 + 2 * H, T0, PROBE);
    e = closeOnAnswer(e, 'weekly', T0 + 72 * H, T0, PROBE);
    assert.deepEqual(gateVerdict(e, T0), {
      admit: false,
      window: 'weekly',
      retryAfterSec: 72 * 3600,
      probing: false,
    });
    assert.deepEqual(gateVerdict(e, T0 + 3 * H), {
      admit: false,
      window: 'weekly',
      retryAfterSec: 69 * 3600,
      probing: false,
    });
  });

  test('no reset known: half-open, one probe per interval, none before a known reset', () => {
    let e: GateEntries = closeOnAnswer([], 'daily', null, T0, PROBE);
    assert.deepEqual(gateVerdict(e, T0), {
      admit: false,
      window: 'daily',
      retryAfterSec: 300,
      probing: true,
    });
    const v = gateVerdict(e, T0 + PROBE);
    assert.deepEqual(v, { admit: true, probe: true, window: 'daily' });
    e = claimProbe(e, T0 + PROBE, PROBE);
    assert.deepEqual(gateVerdict(e, T0 + PROBE), {
      admit: false,
      window: 'daily',
      retryAfterSec: 300,
      probing: true,
    });
    assert.deepEqual(openAfterProbe(e, T0 + PROBE + 1), []);
    // With a known weekly reset beside it, nothing goes before that reset.
    const both = closeOnAnswer(e, 'weekly', T0 + 48 * H, T0, PROBE);
    assert.equal(gateVerdict(both, T0 + 2 * PROBE).admit, false);
    assert.deepEqual(openAfterProbe(both, T0), [both.find((x) => x.window === 'weekly')]);
  });

  test('a reset already past counts as unknown: half-open', () => {
    const e = closeOnAnswer([], 'weekly', T0 - 1, T0, PROBE);
    assert.equal(e[0]!.reopenAtMs, null);
    assert.equal(gateVerdict(e, T0 + PROBE).admit, true);
  });

  test('a later answer for the same window replaces the entry', () => {
    let e = closeOnAnswer([], 'five_hour', T0 + H, T0, PROBE);
    e = closeOnAnswer(e, 'five_hour', T0 + 2 * H, T0 + 1, PROBE);
    assert.equal(e.length, 1);
    assert.equal(e[0]!.reopenAtMs, T0 + 2 * H);
  });
});

describe('applyPoll (enforcement on)', () => {
  test('closes a window used beyond 1 − reserve until its reset; leaves others open', () => {
    const s = sample(T0, [
      { window: 'five_hour', usedFraction: 0.96, resetAtMs: T0 + H },
      { window: 'weekly', usedFraction: 0.5, resetAtMs: T0 + 50 * H },
    ]);
    const e = applyPoll([], s, null, 0.05, T0, PROBE);
    assert.deepEqual(
      e.map((x) => [x.window, x.source, x.reopenAtMs]),
      [['five_hour', 'poll', T0 + H]],
    );
    assert.deepEqual(applyPoll([], s, null, 0.02, T0, PROBE), []);
  });

  test('a poll showing room reopens a window closed before the sample, not one closed after it', () => {
    const e = closeOnAnswer([], 'five_hour', T0 + H, T0, PROBE);
    const room = (at: number) => sample(at, [{ window: 'five_hour', usedFraction: 0.4, resetAtMs: T0 + H }]);
    assert.deepEqual(applyPoll(e, room(T0 + MIN), null, 0.05, T0 + MIN, PROBE), []);
    assert.equal(applyPoll(e, room(T0 - 1), null, 0.05, T0 + MIN, PROBE).length, 1);
  });

  test("a spent poll keeps Z.AI's own entry; with no reset the poll's entry is half-open", () => {
    const z = closeOnAnswer([], 'five_hour', T0 + H, T0, PROBE);
    const full = sample(T0 + MIN, [{ window: 'five_hour', usedFraction: 1, resetAtMs: T0 + 2 * H }]);
    assert.equal(applyPoll(z, full, null, 0.05, T0 + MIN, PROBE)[0], z[0]);
    const noReset = sample(T0, [{ window: 'weekly', usedFraction: 1 }]);
    assert.equal(applyPoll([], noReset, null, 0.05, T0, PROBE)[0]!.reopenAtMs, null);
  });

  test('a changed plan tier turns known resets into probes', () => {
    const e = closeOnAnswer([], 'weekly', T0 + 48 * H, T0, PROBE);
    const s = sample(T0 + MIN, [], 'max');
    const out = applyPoll(e, s, 'pro', 0.05, T0 + MIN, PROBE);
    assert.deepEqual(gateVerdict(out, T0 + MIN), { admit: true, probe: true, window: 'weekly' });
    assert.deepEqual(applyPoll(e, s, 'max', 0.05, T0 + MIN, PROBE), e);
  });
});
