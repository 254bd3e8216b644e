import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseQuotaPayload, type QuotaSnapshot } from './quota-schema.ts';

const NOW = Date.UTC(2026, 8, 5, 14, 0, 0);
const R5 = Date.UTC(2026, 8, 5, 17, 30, 38);
const RW = Date.UTC(2026, 8, 11, 12, 41, 24);

function ok(body: unknown): QuotaSnapshot {
  const r = parseQuotaPayload(typeof body === 'string' ? body : JSON.stringify(body), NOW);
  assert.equal(r.ok, true, JSON.stringify(r));
  return (r as { snapshot: QuotaSnapshot }).snapshot;
}
const envelope = (limits: unknown[], level = 'pro') => ({
  code: 200,
  msg: 'Operation successful',
  success: true,
  data: { level, limits },
});
const windows = (s: QuotaSnapshot) =>
  s.windows.map((w) => [w.window, w.limitType, w.usedFraction, w.resetAtMs]);

describe('parseQuotaPayload: shapes', () => {
  test('2026 shape: percentage-only TOKENS_LIMIT windows plus a TIME_LIMIT tool allowance', () => {
    const s = ok(
      envelope([
        { type: 'TOKENS_LIMIT', unit: 3, number: 5, percentage: 37, nextResetTime: R5 },
        { type: 'TOKENS_LIMIT', unit: 6, number: 1, percentage: 52, nextResetTime: RW },
        {
          type: 'TIME_LIMIT',
          unit: 5,
          number: 1,
          usage: 1000,
          currentValue: 120,
          remaining: 880,
          nextResetTime: RW,
          usageDetails: [{ modelCode: 'search-prime', usage: 100 }],
        },
      ]),
    );
    assert.deepEqual(windows(s), [
      ['five_hour', 'TOKENS_LIMIT', 0.37, R5],
      ['weekly', 'TOKENS_LIMIT', 0.52, RW],
    ]);
    assert.deepEqual(s.tools, { usedFraction: 0.12, used: 120, limit: 1000, remaining: 880, resetAtMs: RW });
    assert.equal(s.planTier, 'pro');
  });

  test('CREDIT_LIMIT with absolute amounts: used / allowance, not the rounded percentage', () => {
    const s = ok(
      envelope([
        {
          type: 'CREDIT_LIMIT',
          unit: 3,
          number: 5,
          usage: 2000,
          currentValue: 740,
          remaining: 1259,
          percentage: 37,
          nextResetTime: R5,
        },
        { type: 'CREDIT_LIMIT', unit: 6, number: 7, usage: 10000, currentValue: 5207, nextResetTime: RW },
      ]),
    );
    assert.deepEqual(windows(s), [
      ['five_hour', 'CREDIT_LIMIT', 0.37, R5],
      ['weekly', 'CREDIT_LIMIT', 0.5207, RW],
    ]);
    assert.equal(s.windows[0]!.used, 740);
    assert.equal(s.windows[0]!.limit, 2000);
  });

  test('TOKENS_LIMIT with absolute amounts counts as current too', () => {
    const s = ok(envelope([{ type: 'tokens_limit', unit: 3, usage: 800, currentValue: 200 }]));
    assert.deepEqual(windows(s), [['five_hour', 'TOKENS_LIMIT', 0.25, null]]);
  });

  test('allowance and remaining only: used is their difference', () => {
    const s = ok(envelope([{ type: 'CREDIT_LIMIT', unit: 6, usage: 1000, remaining: 250 }]));
    assert.equal(s.windows[0]!.usedFraction, 0.75);
    assert.equal(s.windows[0]!.used, 750);
  });

  test('used and remaining only: the allowance is their sum', () => {
    const s = ok(envelope([{ type: 'CREDIT_LIMIT', unit: 6, currentValue: 300, remaining: 100 }]));
    assert.equal(s.windows[0]!.usedFraction, 0.75);
    assert.equal(s.windows[0]!.limit, 400);
  });

  test('windows by unit, never by position or number: weekly first in the payload does not overwrite five-hour', () => {
    const s = ok(
      envelope([
        { type: 'TOKENS_LIMIT', unit: 6, number: 5, percentage: 90, nextResetTime: RW },
        { type: 'TOKENS_LIMIT', unit: 3, number: 1, percentage: 10, nextResetTime: R5 },
      ]),
    );
    assert.deepEqual(windows(s), [
      ['five_hour', 'TOKENS_LIMIT', 0.1, R5],
      ['weekly', 'TOKENS_LIMIT', 0.9, RW],
    ]);
  });

  test('both schemas for one window: the more spent reading wins, whichever comes first', () => {
    const a = { type: 'TOKENS_LIMIT', unit: 3, percentage: 40 };
    const b = { type: 'CREDIT_LIMIT', unit: 3, usage: 100, currentValue: 60 };
    assert.equal(ok(envelope([a, b])).windows[0]!.usedFraction, 0.6);
    assert.equal(ok(envelope([b, a])).windows[0]!.usedFraction, 0.6);
    assert.equal(ok(envelope([b, a])).windows.length, 1);
  });

  test('overdrawn windows read exactly 1; negative values read 0', () => {
    const s = ok(
      envelope([
        { type: 'CREDIT_LIMIT', unit: 3, usage: 1000, currentValue: 1370 },
        { type: 'TOKENS_LIMIT', unit: 6, percentage: 137 },
      ]),
    );
    assert.deepEqual(
      s.windows.map((w) => w.usedFraction),
      [1, 1],
    );
    assert.equal(
      ok(envelope([{ type: 'TOKENS_LIMIT', unit: 3, percentage: -5 }])).windows[0]!.usedFraction,
      0,
    );
  });

  test('a fresh window: 0 % and no nextResetTime has no reset, never an epoch', () => {
    const s = ok(envelope([{ type: 'TOKENS_LIMIT', unit: 3, percentage: 0 }]));
    assert.deepEqual(windows(s), [['five_hour', 'TOKENS_LIMIT', 0, null]]);
    const zero = ok(envelope([{ type: 'TOKENS_LIMIT', unit: 3, percentage: 7, nextResetTime: 0 }]));
    assert.equal(zero.windows[0]!.resetAtMs, null);
  });

  test('unknown types and units are ignored; an entry with no usable number is skipped', () => {
    const s = ok(
      envelope([
        { type: 'FUTURE_LIMIT', unit: 3, percentage: 99 },
        { type: 'TOKENS_LIMIT', unit: 9, percentage: 99 },
        { type: 'TOKENS_LIMIT', unit: 3 },
        { type: 'CREDIT_LIMIT', unit: 6, percentage: 12 },
      ]),
    );
    assert.deepEqual(windows(s), [['weekly', 'CREDIT_LIMIT', 0.12, null]]);
    assert.equal(s.tools, null);
  });

  test('an empty limits array is a valid sample with no windows', () => {
    assert.deepEqual(ok(envelope([])).windows, []);
  });

  test('a plan tier that is not a plain short word is dropped, not passed on', () => {
    assert.equal(ok(envelope([], 'MAX')).planTier, 'max');
    assert.equal(ok(envelope([], 'pro <script>')).planTier, '');
    assert.equal(ok({ code: 0, data: { limits: [] } }).planTier, '');
  });
});

describe('parseQuotaPayload: failures', () => {
  const cases: [string, string, 'error' | 'malformed'][] = [
    ['not JSON', '{"code":200,', 'malformed'],
    ['null body', 'null', 'malformed'],
    ['no data', '{"code":200,"success":true}', 'malformed'],
    ['data null', '{"code":200,"success":true,"data":null}', 'malformed'],
    ['limits an object', '{"code":200,"data":{"limits":{}}}', 'malformed'],
    ['type a number', '{"code":200,"data":{"limits":[{"type":3,"unit":3,"percentage":1}]}}', 'malformed'],
    [
      'percentage a string',
      '{"code":200,"data":{"limits":[{"type":"TOKENS_LIMIT","unit":3,"percentage":"37"}]}}',
      'malformed',
    ],
    [
      'success false',
      '{"code":401,"msg":"token expired or incorrect (secret-account-text)","data":null,"success":false}',
      'error',
    ],
    ['code without success', '{"code":500,"msg":"boom","data":{"limits":[]}}', 'error'],
  ];
  for (const [name, body, outcome] of cases) {
    test(`${name} → ${outcome}`, () => {
      const r = parseQuotaPayload(body, NOW);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.outcome, outcome);
      assert.doesNotMatch(r.reason, /secret-account-text|token expired|boom/);
    });
  }

  test('a provider refusal keeps its code, not its message', () => {
    const r = parseQuotaPayload('{"code":1001,"msg":"Header中未收到Authorization参数","success":false}', NOW);
    assert.deepEqual(r, {
      ok: false,
      outcome: 'error',
      reason: 'quota poll rejected: provider code 1001',
      providerCode: 1001,
    });
  });
});
