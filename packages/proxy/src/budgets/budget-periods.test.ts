import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPeriods } from './budget-periods.ts';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;

test('a day is local midnight to local midnight in the zone', () => {
  const p = createPeriods('Asia/Shanghai');
  const d = p.at('day', at('2026-12-01T15:59:59Z'));
  assert.equal(d.id, 'day:2026-12-01');
  assert.equal(d.start, at('2026-11-30T16:00:00Z'));
  assert.equal(d.end, at('2026-12-01T16:00:00Z'));
  assert.equal(p.at('day', at('2026-12-01T16:00:00Z')).id, 'day:2026-12-02');
});

test('DST change days are 23 and 25 hours long, and their weeks and months follow', () => {
  const p = createPeriods('Europe/Berlin');
  const spring = p.at('day', at('2026-03-29T12:00:00Z'));
  assert.equal(spring.id, 'day:2026-03-29');
  assert.equal(spring.end - spring.start, 23 * H);
  assert.equal(spring.end, at('2026-03-29T22:00:00Z'));
  const autumn = p.at('day', at('2026-10-25T12:00:00Z'));
  assert.equal(autumn.end - autumn.start, 25 * H);
  assert.equal(autumn.start, at('2026-10-24T22:00:00Z'));
  assert.equal(autumn.end, at('2026-10-25T23:00:00Z'));
  const week = p.at('week', at('2026-10-25T12:00:00Z'));
  assert.equal(week.id, 'week:2026-10-19');
  assert.equal(week.end - week.start, 169 * H);
  const month = p.at('month', at('2026-10-31T23:30:00Z'));
  assert.equal(month.id, 'month:2026-11');
  assert.equal(month.start, at('2026-10-31T23:00:00Z'));
  assert.equal(month.end, at('2026-11-30T23:00:00Z'));
});

test('weeks start on Monday; months and years roll over', () => {
  const p = createPeriods('America/New_York');
  const sunday = p.at('week', at('2026-12-07T04:59:59Z')); // Sunday 23:59:59 local
  assert.equal(sunday.id, 'week:2026-11-30');
  assert.equal(p.at('week', at('2026-12-07T05:00:00Z')).id, 'week:2026-12-07');
  const dec = p.at('month', at('2026-12-15T12:00:00Z'));
  assert.equal(dec.id, 'month:2026-12');
  assert.equal(dec.end, at('2027-01-01T05:00:00Z'));
  assert.equal(p.at('week', at('2027-01-01T12:00:00Z')).id, 'week:2026-12-28');
});

test('the cached period is replaced at its end', () => {
  const p = createPeriods('UTC');
  const a = p.at('day', at('2026-12-01T23:59:59.999Z'));
  assert.equal(p.at('day', at('2026-12-01T00:00:00Z')), a, 'same period: the cached span');
  assert.equal(p.at('day', at('2026-12-02T00:00:00Z')).id, 'day:2026-12-02');
  assert.equal(p.at('day', at('2026-12-01T10:00:00Z')).id, 'day:2026-12-01', 'and back');
});
