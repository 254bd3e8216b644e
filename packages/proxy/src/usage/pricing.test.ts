import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createPricing,
  DEFAULT_PRICE_TABLE,
  DEFAULT_PRICING_OPTIONS,
  type PricingOptions,
  parsePriceTable,
} from './pricing.ts';

const DEF: PricingOptions = { ...DEFAULT_PRICING_OPTIONS };
const NY: PricingOptions = { ...DEF, timeZone: 'America/New_York', peakStart: '02:00', peakEnd: '06:00' };
const at = (iso: string) => Date.parse(iso);

describe('pricing tier', () => {
  it('defaults to Z.AI peak hours: 14:00-18:00 Beijing time = 06:00-10:00 UTC, every day', () => {
    const p = createPricing(DEF);
    assert.deepEqual(
      [DEF.peakStart, DEF.peakEnd, DEF.timeZone, DEF.peakMultiplier],
      ['14:00', '18:00', 'Asia/Shanghai', 1],
    );
    for (const day of ['2026-01-15', '2026-07-01', '2026-12-05', '2026-12-06']) {
      // both sides of both edges; a Saturday and a Sunday included
      assert.equal(p.tier(at(`${day}T05:59:59Z`)), 'off_peak', day); // 13:59:59 CST
      assert.equal(p.tier(at(`${day}T06:00:00Z`)), 'peak', day); // 14:00
      assert.equal(p.tier(at(`${day}T09:59:59Z`)), 'peak', day); // 17:59:59
      assert.equal(p.tier(at(`${day}T10:00:00Z`)), 'off_peak', day); // 18:00
    }
  });

  it("does not move on a US daylight-saving change day (the original's window did, an hour late)", () => {
    const p = createPricing(DEF);
    for (const day of ['2026-03-08', '2026-11-01']) {
      assert.equal(p.tier(at(`${day}T05:59:00Z`)), 'off_peak', day);
      assert.equal(p.tier(at(`${day}T06:00:00Z`)), 'peak', day);
      assert.equal(p.tier(at(`${day}T09:59:00Z`)), 'peak', day);
      assert.equal(p.tier(at(`${day}T10:00:00Z`)), 'off_peak', day);
      // 10:00-11:00 UTC was peak in the original's fixed UTC-5 window; it is not Z.AI's peak
      assert.equal(p.tier(at(`${day}T10:30:00Z`)), 'off_peak', day);
    }
    // the original's window, for comparison: the same day, the same instant, the other answer
    const original = createPricing({ ...DEF, timeZone: 'Etc/GMT+5', peakStart: '02:00', peakEnd: '06:00' });
    assert.equal(original.tier(at('2026-03-08T10:30:00Z')), 'peak');
    assert.equal(original.tier(at('2026-03-08T06:30:00Z')), 'off_peak');
  });

  it('reads [02:00, 06:00) in New York wall-clock time, EST and EDT', () => {
    const p = createPricing(NY);
    // winter (EST, UTC-5): peak is 07:00-11:00 UTC
    assert.equal(p.tier(at('2026-01-15T06:59:00Z')), 'off_peak');
    assert.equal(p.tier(at('2026-01-15T07:00:00Z')), 'peak');
    assert.equal(p.tier(at('2026-01-15T10:59:59Z')), 'peak');
    assert.equal(p.tier(at('2026-01-15T11:00:00Z')), 'off_peak');
    // summer (EDT, UTC-4): peak is 06:00-10:00 UTC
    assert.equal(p.tier(at('2026-07-01T06:00:00Z')), 'peak');
    assert.equal(p.tier(at('2026-07-01T10:30:00Z')), 'off_peak');
  });

  it('follows the spring-forward day in a zone with DST (2026-03-08: 02:00 EST jumps to 03:00 EDT)', () => {
    const p = createPricing(NY);
    assert.equal(p.tier(at('2026-03-08T06:59:00Z')), 'off_peak'); // 01:59 EST
    assert.equal(p.tier(at('2026-03-08T07:00:00Z')), 'peak'); // 03:00 EDT: 02:xx never happens
    assert.equal(p.tier(at('2026-03-08T09:59:00Z')), 'peak'); // 05:59 EDT
    assert.equal(p.tier(at('2026-03-08T10:00:00Z')), 'off_peak'); // 06:00 EDT
  });

  it('follows the fall-back day (2026-11-01: 02:00 EDT goes back to 01:00 EST)', () => {
    const p = createPricing(NY);
    assert.equal(p.tier(at('2026-11-01T05:30:00Z')), 'off_peak'); // 01:30 EDT
    assert.equal(p.tier(at('2026-11-01T06:30:00Z')), 'off_peak'); // 01:30 EST, the second time
    assert.equal(p.tier(at('2026-11-01T07:00:00Z')), 'peak'); // 02:00 EST
    assert.equal(p.tier(at('2026-11-01T10:59:00Z')), 'peak'); // 05:59 EST
    assert.equal(p.tier(at('2026-11-01T11:00:00Z')), 'off_peak');
  });

  it('supports windows that wrap midnight, and an empty window', () => {
    const p = createPricing({ ...NY, timeZone: 'UTC', peakStart: '22:30', peakEnd: '01:15' });
    assert.equal(p.tier(at('2026-05-05T22:29:00Z')), 'off_peak');
    assert.equal(p.tier(at('2026-05-05T22:30:00Z')), 'peak');
    assert.equal(p.tier(at('2026-05-05T23:59:00Z')), 'peak');
    assert.equal(p.tier(at('2026-05-06T00:00:00Z')), 'peak');
    assert.equal(p.tier(at('2026-05-06T01:14:59Z')), 'peak');
    assert.equal(p.tier(at('2026-05-06T01:15:00Z')), 'off_peak');
    const none = createPricing({ ...NY, peakStart: '03:00', peakEnd: '03:00' });
    assert.equal(none.tier(at('2026-01-15T08:00:00Z')), 'off_peak');
  });

  it('reads other zones, half-hour offsets included', () => {
    const p = createPricing({ ...NY, timeZone: 'Asia/Kolkata', peakStart: '10:00', peakEnd: '10:30' });
    assert.equal(p.tier(at('2026-05-05T04:29:00Z')), 'off_peak'); // 09:59 IST
    assert.equal(p.tier(at('2026-05-05T04:30:00Z')), 'peak'); // 10:00 IST
    assert.equal(p.tier(at('2026-05-05T05:00:00Z')), 'off_peak'); // 10:30 IST
  });

  it('caches per minute without going stale across minutes', () => {
    const p = createPricing({ ...NY, timeZone: 'UTC', peakStart: '12:00', peakEnd: '12:01' });
    assert.equal(p.tier(at('2026-05-05T11:59:59.999Z')), 'off_peak');
    assert.equal(p.tier(at('2026-05-05T12:00:00Z')), 'peak');
    assert.equal(p.tier(at('2026-05-05T12:00:59Z')), 'peak');
    assert.equal(p.tier(at('2026-05-05T12:01:00Z')), 'off_peak');
    assert.equal(p.tier(at('2026-05-05T11:59:30Z')), 'off_peak');
  });

  it('rejects bad options, naming the field', () => {
    assert.throws(() => createPricing({ ...NY, peakStart: '2:00' }), /peakStart/);
    assert.throws(() => createPricing({ ...NY, peakEnd: '24:00' }), /peakEnd/);
    assert.throws(() => createPricing({ ...NY, timeZone: 'Mars/Olympus' }), /timeZone/);
    assert.throws(() => createPricing({ ...NY, peakMultiplier: -1 }), /peakMultiplier/);
    assert.throws(() => createPricing({ ...NY, peakMultiplier: Number.NaN }), /peakMultiplier/);
    assert.throws(() => createPricing({ ...NY, table: { '*': { input: -1 } } }), /"\*"\.input/);
  });
});

describe('pricing cost', () => {
  it('uses the GLM list prices by default, the same at peak', () => {
    const p = createPricing(DEF);
    assert.deepEqual(DEFAULT_PRICE_TABLE['*'], {
      input: 0.0006,
      output: 0.0022,
      cache_read: 0.00011,
      cache_write: 0,
    });
    assert.equal(p.cost('glm-4.6', 'input', 1000, 'off_peak'), 0.0006);
    assert.equal(p.cost('glm-4.6', 'output', 2000, 'off_peak'), 0.0044);
    assert.equal(p.cost('other', 'cache_read', 1_000_000, 'off_peak'), 0.11);
    assert.equal(p.cost('glm-4.6', 'cache_write', 5000, 'peak'), 0);
    assert.equal(p.cost('glm-4.6', 'input', 1000, 'peak'), 0.0006); // API usage: no peak surcharge
    assert.equal(p.cost('glm-4.6', 'input', 0, 'peak'), 0);
    assert.equal(p.cost('glm-4.6', 'input', -5, 'peak'), 0);
  });

  it('a configured USD peak multiplier still applies (the original: 2)', () => {
    const p = createPricing({ ...DEF, peakMultiplier: 2 });
    assert.equal(p.cost('glm-4.6', 'input', 1000, 'peak'), 0.0012);
    assert.equal(p.cost('glm-4.6', 'input', 1000, 'off_peak'), 0.0006);
  });

  it('layers a custom table: model entry, then its "*", then the defaults', () => {
    const p = createPricing({
      ...NY,
      peakMultiplier: 3,
      table: { '*': { output: 0.01 }, 'glm-4.5-air': { input: 0.0002 } },
    });
    assert.equal(p.cost('glm-4.5-air', 'input', 1000, 'off_peak'), 0.0002);
    assert.equal(p.cost('glm-4.5-air', 'output', 1000, 'off_peak'), 0.01); // from the table's '*'
    assert.equal(p.cost('glm-4.5-air', 'cache_read', 1000, 'off_peak'), 0.00011); // from the defaults
    assert.equal(p.cost('glm-4.6', 'input', 1000, 'off_peak'), 0.0006);
    assert.ok(Math.abs(p.cost('glm-4.5-air', 'input', 1000, 'peak') - 0.0006) < 1e-15);
  });
});

describe('parsePriceTable', () => {
  it('parses a valid table', () => {
    const t = parsePriceTable('{"*":{"input":0.001},"claude-sonnet":{"output":0.015,"cache_write":0.00375}}');
    assert.deepEqual(t, { '*': { input: 0.001 }, 'claude-sonnet': { output: 0.015, cache_write: 0.00375 } });
    createPricing({ ...NY, table: t });
  });

  it('says what is wrong', () => {
    assert.throws(() => parsePriceTable('{"*":'), /not valid JSON/);
    assert.throws(() => parsePriceTable('[]'), /must be a JSON object/);
    assert.throws(() => parsePriceTable('{"*":5}'), /"\*" must be an object/);
    assert.throws(() => parsePriceTable('{"*":{"prompt":1}}'), /"\*"\.prompt is not a direction/);
    assert.throws(() => parsePriceTable('{"*":{"input":"1"}}'), /"\*"\.input must be a non-negative number/);
    assert.throws(
      () => parsePriceTable('{"GLM-4.6 turbo":{"input":1}}'),
      /"GLM-4\.6 turbo" is not a model label/,
    );
  });
});
