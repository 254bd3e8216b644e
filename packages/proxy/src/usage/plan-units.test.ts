import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPlanUsage, DEFAULT_PLAN_TABLE } from './plan-units.ts';
import { createPricing, DEFAULT_PRICING_OPTIONS, parsePriceTable } from './pricing.ts';
import type { Usage } from './types.ts';

const u = (input: number, output: number, cache_read = 0, cache_write = 0): Usage => ({
  input,
  output,
  cache_read,
  cache_write,
});

describe('plan units', () => {
  it('match a hand-computed table with the built-in weights', () => {
    const p = createPlanUsage();
    // units = (input + output + 0.2·cache_read + cache_write) × multiplier
    const rows: [string, Usage, 'peak' | 'off_peak', number][] = [
      ['glm-5.1', u(1000, 500), 'peak', 4500], // 1500 × 3
      ['glm-5.1', u(1000, 500), 'off_peak', 3000], // 1500 × 2
      ['glm-5-turbo', u(0, 0, 10_000, 0), 'peak', 6000], // 2000 × 3
      ['glm-5-turbo', u(200, 100, 1000, 300), 'off_peak', 1600], // (200+100+200+300) × 2
      ['glm-4.7', u(1000, 500, 5000, 0), 'peak', 2500], // (1500+1000) × 1
      ['glm-4.7', u(1000, 500, 5000, 0), 'off_peak', 2500],
      ['other', u(7, 3, 0, 0), 'peak', 10],
      ['glm-4.6', u(0, 0, 0, 0), 'peak', 0],
      ['glm-4.6', u(-5, 10, 0, 0), 'off_peak', 10], // negative counts count as 0
    ];
    for (const [model, usage, tier, want] of rows) {
      assert.equal(p.units(model, usage, tier), want, `${model} ${tier} ${JSON.stringify(usage)}`);
    }
    assert.equal(p.multiplier('glm-5.1', 'peak'), 3);
    assert.equal(p.multiplier('glm-5.1', 'off_peak'), 2);
    assert.equal(p.multiplier('glm-4.6', 'peak'), 1);
  });

  it('layers the price file: built-in *, file *, built-in model, file model', () => {
    const table = parsePriceTable(
      JSON.stringify({
        '*': { plan: { peak: 2, cache_read: 0.1 } },
        'glm-5.1': { input: 0.001, plan: { off_peak: 1 } }, // a 1x off-peak promotion
        'glm-4.6': { plan: { output: 4 } },
      }),
    );
    const p = createPlanUsage(table);
    assert.equal(p.units('glm-5.1', u(100, 0), 'off_peak'), 100); // promotion: 1x
    assert.equal(p.units('glm-5.1', u(100, 0), 'peak'), 300); // built-in model 3x beats file * 2x
    assert.equal(p.units('glm-5-turbo', u(0, 0, 1000), 'off_peak'), 200); // file cache_read 0.1 × 2
    assert.equal(p.units('glm-4.6', u(10, 10), 'peak'), 100); // (10 + 40) × file * peak 2
    assert.equal(p.units('glm-4.6', u(10, 10), 'off_peak'), 50);
    assert.equal(p.units('glm-4.7', u(10, 0), 'peak'), 20);
  });

  it('the plan member does not change USD prices', () => {
    const table = parsePriceTable('{"*":{"input":0.001,"plan":{"peak":3,"input":9}}}');
    const pricing = createPricing({ ...DEFAULT_PRICING_OPTIONS, table });
    assert.equal(pricing.cost('glm-4.6', 'input', 1000, 'peak'), 0.001);
  });

  it('rejects a malformed plan member, naming the field', () => {
    assert.throws(() => parsePriceTable('{"*":{"plan":3}}'), /"\*"\.plan must be an object/);
    assert.throws(
      () => parsePriceTable('{"glm-5.1":{"plan":{"night":1}}}'),
      /"glm-5\.1"\.plan\.night is not one of/,
    );
    assert.throws(
      () => parsePriceTable('{"*":{"plan":{"peak":-1}}}'),
      /"\*"\.plan\.peak must be a non-negative/,
    );
    assert.throws(() => parsePriceTable('{"*":{"plan":{"peak":"3"}}}'), /plan\.peak must be a non-negative/);
  });

  it('the built-in table names only folded model labels', () => {
    for (const model of Object.keys(DEFAULT_PLAN_TABLE)) {
      parsePriceTable(JSON.stringify({ [model]: { plan: DEFAULT_PLAN_TABLE[model] } }));
    }
  });
});
