import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { budgetOf, DEFAULT_WARN_AT, parseBudgets } from './budget-config.ts';

test('limits, in-flight cap and thresholds per client, and a default', () => {
  const b = parseBudgets(
    JSON.stringify({
      warn_at: [0.5, 0.9],
      default: { tokens_per_day: 1e6 },
      clients: {
        alice: { usd_per_month: 50, five_hour_share: 0.4, max_in_flight: 4 },
        ci: { plan_units_per_week: 2e6, warn_at: [0.7] },
      },
    }),
  );
  const alice = budgetOf(b, 'alice')!;
  assert.deepEqual(
    alice.limits.map((l) => [l.name, l.measure, l.period, l.max]),
    [
      ['usd_per_month', 'usd', 'month', 50],
      ['five_hour_share', 'plan_units', 'five_hour', 0.4],
    ],
  );
  assert.equal(alice.maxInFlight, 4);
  assert.deepEqual(alice.warnAt, [0.5, 0.9]);
  assert.deepEqual(budgetOf(b, 'ci')!.warnAt, [0.7]);
  assert.deepEqual(budgetOf(b, 'someone')!.limits[0]!.name, 'tokens_per_day');
  assert.deepEqual(budgetOf(b, 'someone')!.warnAt, [0.5, 0.9]);
});

test('without warn_at the thresholds are 80 % and 95 %', () => {
  const b = parseBudgets('{"clients":{"a":{"tokens_per_day":10}}}');
  assert.deepEqual(budgetOf(b, 'a')!.warnAt, DEFAULT_WARN_AT);
  assert.equal(budgetOf(b, 'b'), null, 'no default: other clients have no budget');
});

test('every bad field is named in one error', () => {
  assert.throws(
    () =>
      parseBudgets(
        JSON.stringify({
          warn_at: [0.95, 0.8],
          clients: {
            alice: { tokens_per_dya: 5, usd_per_day: -1, five_hour_share: 40, max_in_flight: 0.5 },
            'bad name!': {},
          },
          extra: 1,
        }),
      ),
    (e: Error) => {
      for (const part of [
        'extra: unknown key',
        'warn_at: expected',
        'clients.alice.tokens_per_dya: unknown key',
        'clients.alice.usd_per_day: expected a positive number',
        'clients.alice.five_hour_share: expected a fraction',
        'clients.alice.max_in_flight: expected an integer',
        'clients.bad name!: not a client name',
      ])
        assert.ok(e.message.includes(part), `${part} in ${e.message}`);
      return true;
    },
  );
  assert.throws(() => parseBudgets('{"clients":'), /not valid JSON/);
  assert.throws(() => parseBudgets('[]'), /expected a JSON object/);
});

test('the budgets documented in docs/budgets.md parse', () => {
  const md = readFileSync(new URL('../../../../docs/budgets.md', import.meta.url), 'utf8');
  const blocks = [...md.matchAll(/```json budgets\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 2);
  for (const b of blocks) assert.ok(parseBudgets(b).clients.size > 0);
  const team = parseBudgets(blocks[1]!);
  assert.equal(budgetOf(team, 'ana')!.maxInFlight, 6, 'ana has the default');
  assert.deepEqual(budgetOf(team, 'ci')!.warnAt, [0.5, 0.9]);
});
