import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Limit } from './budget-config.ts';
import {
  budgetVerdict,
  clearFlag,
  fiveHourShare,
  type LimitReading,
  transitions,
  warnFlag,
} from './budget-verdict.ts';

const tokensPerDay: Limit = { name: 'tokens_per_day', measure: 'tokens', period: 'day', max: 1000 };
const usdPerMonth: Limit = { name: 'usd_per_month', measure: 'usd', period: 'month', max: 10 };
const WARN = [0.8, 0.95];

function reading(used: number, flags: Record<string, number> = {}, limit = tokensPerDay): LimitReading {
  return { limit, periodId: 'day:2026-12-01', resetAtMs: 86_400_000, used, flags };
}

/** Applies transitions as the I/O layer does (each fire sets its flag once), over a usage series. */
function run(series: number[]): { fired: number[]; resolved: number[] } {
  const flags: Record<string, number> = {};
  const fired: number[] = [];
  const resolved: number[] = [];
  for (const used of series) {
    const r = reading(used, flags);
    const t = transitions(r, WARN);
    for (const x of t.fire) {
      flags[warnFlag(r, x)] = 1;
      fired.push(x);
    }
    for (const x of t.resolve) {
      flags[clearFlag(r, x)] = 1;
      resolved.push(x);
    }
  }
  return { fired, resolved };
}

test('each threshold fires once per period, however many requests cross it', () => {
  assert.deepEqual(run([100, 500, 800, 810, 900, 950, 960, 999, 1000, 1200, 1500]).fired, [0.8, 0.95, 1]);
});

test('one jump over several thresholds fires each of them once', () => {
  assert.deepEqual(run([10, 990, 995]).fired, [0.8, 0.95]);
  assert.deepEqual(run([10, 2000, 3000]).fired, [0.8, 0.95, 1]);
});

test('below every threshold nothing fires', () => {
  assert.deepEqual(run([0, 100, 799.9]), { fired: [], resolved: [] });
});

test('a fired warning resolves once when the period is over', () => {
  const flags = { [warnFlag(reading(0), 0.8)]: 1, [warnFlag(reading(0), 0.95)]: 1 };
  const over = { ...reading(960, flags), over: true };
  assert.deepEqual(transitions(over, WARN), { fire: [], resolve: [0.8, 0.95] });
  const done = { ...flags, [clearFlag(over, 0.8)]: 1, [clearFlag(over, 0.95)]: 1 };
  assert.deepEqual(transitions({ ...over, flags: done }, WARN), { fire: [], resolve: [] });
});

test('a raised limit resolves the warnings it no longer crosses', () => {
  const flags = { [warnFlag(reading(0), 0.8)]: 1, [warnFlag(reading(0), 0.95)]: 1 };
  const raised = reading(960, flags, { ...tokensPerDay, max: 1100 }); // 87 %
  assert.deepEqual(transitions(raised, WARN), { fire: [], resolve: [0.95] });
});

test('refused while any limit is spent, until the latest reset among the spent ones', () => {
  const now = 1000;
  assert.deepEqual(budgetVerdict([reading(999)], now), { admit: true });
  const day = { ...reading(1000), resetAtMs: now + 3_600_000 };
  const month = {
    ...reading(10, {}, usdPerMonth),
    periodId: 'month:2026-12',
    resetAtMs: now + 10 * 86_400_000,
  };
  const v = budgetVerdict([day, month], now);
  assert.equal(v.admit, false);
  if (v.admit) return;
  assert.equal(v.limit.name, 'usd_per_month');
  assert.equal(v.retryAfterSec, 10 * 86_400);
  const dayOnly = budgetVerdict([day, { ...month, used: 9.99 }], now);
  assert.equal(!dayOnly.admit && dayOnly.retryAfterSec, 3600);
  assert.equal(budgetVerdict([{ ...day, over: true }], now).admit, true, 'a finished period refuses nothing');
});

test('the five-hour share is the client part of what the proxy used of the window', () => {
  assert.equal(fiveHourShare(40, 100, 0.5, 0), 0.2);
  assert.equal(fiveHourShare(100, 100, 0.5, 0.2), 0.4, 'burn from other machines is not the client’s');
  assert.equal(fiveHourShare(0, 100, 0.9, 0), 0);
  assert.equal(fiveHourShare(10, 0, 0.9, 0), 0);
});
