import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UsageRow } from '../points/point.ts';
import { daysInRange, startOfDay, zoneOffsetMs } from './report-days.ts';
import { usageReport } from './usage-view.ts';

const H = 3_600_000;
const row = (ts: number, tokens: number, micro: number, over: Partial<UsageRow> = {}): UsageRow => ({
  ts,
  variant: 'production',
  model: 'glm-4.6',
  client: '',
  tokens: [tokens, 2 * tokens, tokens, 0],
  micro: [micro, 3 * micro, 1, 0],
  ...over,
});

/** One row per minute over [start, end) with pseudo-random integer amounts. */
function rows(start: number, end: number): UsageRow[] {
  const out: UsageRow[] = [];
  let x = 12345;
  for (let t = start; t < end; t += 60_000) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(
      row(t, x % 1000, x % 9973, {
        variant: x % 3 === 0 ? 'canary' : 'production',
        client: x % 5 === 0 ? 'source-03' : '',
      }),
    );
  }
  return out;
}

describe('report days', () => {
  test('offsets: +05:30 in Kolkata, −05:00/−04:00 in New York', () => {
    assert.equal(zoneOffsetMs('Asia/Kolkata', Date.UTC(2026, 5, 1)), 5.5 * H);
    assert.equal(zoneOffsetMs('America/New_York', Date.UTC(2026, 0, 15)), -5 * H);
    assert.equal(zoneOffsetMs('America/New_York', Date.UTC(2026, 6, 15)), -4 * H);
    assert.equal(startOfDay('Asia/Kolkata', 2026, 12, 1), Date.UTC(2026, 10, 30, 18, 30));
  });

  test('DST change days in New York are 23 and 25 hours long', () => {
    const spring = daysInRange('America/New_York', Date.UTC(2026, 2, 7, 12), Date.UTC(2026, 2, 10, 12));
    assert.deepEqual(
      spring.map((d) => [d.date, (d.end - d.start) / H]),
      [
        ['2026-03-07', 17], // from noon UTC = 07:00 local to midnight
        ['2026-03-08', 23],
        ['2026-03-09', 24],
        ['2026-03-10', 8],
      ],
    );
    const fall = daysInRange(
      'America/New_York',
      startOfDay('America/New_York', 2026, 11, 1),
      startOfDay('America/New_York', 2026, 11, 2),
    );
    assert.deepEqual(
      fall.map((d) => [d.date, (d.end - d.start) / H]),
      [['2026-11-01', 25]],
    );
  });

  test('an empty or inverted range has no days', () => {
    assert.deepEqual(daysInRange('UTC', 10, 10), []);
  });
});

describe('usageReport', () => {
  for (const tz of ['UTC', 'Asia/Kolkata', 'America/New_York', 'Asia/Kathmandu']) {
    test(`${tz}: the days add up to the totals exactly, across the DST change`, () => {
      const start = Date.UTC(2026, 2, 6, 7, 13);
      const end = Date.UTC(2026, 2, 10, 3, 2);
      const r = usageReport(rows(start, end), start, end, tz);
      assert.ok(r.days.length >= 4);
      assert.equal(r.days[0]!.start, start);
      assert.equal(r.days.at(-1)!.end, end);
      for (const f of [
        'tokens_input',
        'tokens_output',
        'tokens_cache_read',
        'tokens_total',
        'cost_micro_usd_input',
        'cost_micro_usd_output',
        'cost_micro_usd_total',
      ] as const) {
        assert.equal(
          r.days.reduce((s, d) => s + d[f], 0),
          r.totals[f],
          f,
        );
      }
      assert.equal(
        r.by_variant.reduce((s, v) => s + v.cost_micro_usd_total, 0),
        r.totals.cost_micro_usd_total,
      );
    });
  }

  test('Kolkata days split at 18:30 UTC', () => {
    const start = Date.UTC(2026, 11, 1, 18, 0);
    const end = Date.UTC(2026, 11, 1, 19, 0);
    const r = usageReport(
      [row(Date.UTC(2026, 11, 1, 18, 29), 10, 10), row(Date.UTC(2026, 11, 1, 18, 30), 7, 7)],
      start,
      end,
      'Asia/Kolkata',
    );
    assert.deepEqual(
      r.days.map((d) => [d.date, d.tokens_input]),
      [
        ['2026-12-01', 10],
        ['2026-12-02', 7],
      ],
    );
  });

  test('cache hit ratio is token-weighted: cache_read / (input + cache_read); null when both are 0', () => {
    const r = usageReport([row(0, 30, 1), { ...row(0, 0, 0), tokens: [10, 0, 60, 5] }], 0, 1, 'UTC');
    assert.equal(r.totals.cache_hit_ratio, (30 + 60) / (30 + 10 + 30 + 60));
    assert.equal(usageReport([], 0, 1, 'UTC').totals.cache_hit_ratio, null);
  });

  test('groups by model and client, sorted by cost', () => {
    const r = usageReport(
      [
        row(0, 1, 5, { model: 'glm-4.5-air', client: 'source-01' }),
        row(0, 1, 50, { model: 'glm-4.6' }),
        row(0, 1, 7, { model: 'glm-4.6' }),
      ],
      0,
      1,
      'UTC',
    );
    assert.deepEqual(
      r.by_model.map((m) => [m.key, m.cost_micro_usd_input]),
      [
        ['glm-4.6', 57],
        ['glm-4.5-air', 5],
      ],
    );
    assert.deepEqual(
      r.by_client.map((m) => m.key),
      ['', 'source-01'],
    );
    assert.equal(r.totals.cost_usd_total, r.totals.cost_micro_usd_total / 1e6);
  });
});
