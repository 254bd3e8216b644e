import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileCalibrationStore } from './calibration-store.ts';
import { restoreSnapshot, TokenCalibrator } from './token-calibration.ts';

const DAY = 86_400_000;

describe('TokenCalibrator', () => {
  test('an unknown model is not calibrated: ratio 1, the raw estimate', () => {
    const c = new TokenCalibrator();
    assert.equal(c.ratio('glm-4.6'), 1);
    assert.equal(c.isCalibrated('glm-4.6'), false);
    assert.equal(c.calibrate('glm-4.6', 1000), 1000);
  });

  test('learns provider / estimate per model; the error it reports is from before the sample', () => {
    const c = new TokenCalibrator();
    const first = c.observe('glm-4.6', 1000, 1270, 1);
    assert.ok(first !== null);
    assert.ok(Math.abs(first.raw - (1000 - 1270) / 1270) < 1e-12);
    assert.equal(first.calibrated, first.raw, 'nothing learned yet: calibrated = raw');
    assert.ok(Math.abs(c.ratio('glm-4.6') - 1.27) < 1e-12);
    assert.equal(c.calibrate('glm-4.6', 2000), 2540);
    const second = c.observe('glm-4.6', 2000, 2540, 2)!;
    assert.equal(second.calibrated, 0);
    assert.equal(c.ratio('glm-5.1'), 1, 'per model');
  });

  test('bounded: a wild sample is clamped, and cannot pull the ratio past the bounds', () => {
    const c = new TokenCalibrator({ minRatio: 0.5, maxRatio: 2 });
    c.observe('glm-4.6', 100, 100_000, 1);
    assert.equal(c.ratio('glm-4.6'), 2);
    for (let i = 0; i < 50; i++) c.observe('glm-4.6', 1000, 1, i); // below minTokens: skipped
    assert.equal(c.ratio('glm-4.6'), 2);
    for (let i = 0; i < 300; i++) c.observe('glm-4.6', 100_000, 100, i);
    assert.ok(c.ratio('glm-4.6') >= 0.5 && c.ratio('glm-4.6') < 0.51, String(c.ratio('glm-4.6')));
  });

  test('a settled ratio moves little on one outlier and follows a lasting change', () => {
    const c = new TokenCalibrator();
    for (let i = 0; i < 100; i++) c.observe('glm-4.6', 1000, 1270, i);
    c.observe('glm-4.6', 1000, 2000, 101);
    assert.ok(Math.abs(c.ratio('glm-4.6') - 1.27) < 0.04, String(c.ratio('glm-4.6')));
    for (let i = 0; i < 200; i++) c.observe('glm-4.6', 1000, 1100, 200 + i);
    assert.ok(Math.abs(c.ratio('glm-4.6') - 1.1) < 0.01, String(c.ratio('glm-4.6')));
  });

  test('skips samples it cannot learn from', () => {
    const c = new TokenCalibrator({ minTokens: 64 });
    assert.equal(c.observe('glm-4.6', 0, 1000, 1), null);
    assert.equal(c.observe('glm-4.6', 100, 63, 1), null);
    assert.equal(c.observe('glm-4.6', Number.NaN, 1000, 1), null);
    assert.equal(c.observe('glm-4.6', 100, Number.POSITIVE_INFINITY, 1), null);
    assert.equal(c.isCalibrated('glm-4.6'), false);
    assert.equal(c.changed, false);
  });

  test('rejects bad options', () => {
    assert.throws(() => new TokenCalibrator({ minRatio: 0 }), /minRatio/);
    assert.throws(() => new TokenCalibrator({ minRatio: 2, maxRatio: 1 }), /minRatio/);
    assert.throws(() => new TokenCalibrator({ alpha: 0 }), /alpha/);
  });
});

describe('calibration snapshot', () => {
  test('round-trips through the state file, and a restored calibrator answers the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zai-cal-'));
    try {
      const path = join(dir, 'nested', 'token-calibration.json');
      const store = fileCalibrationStore(path);
      assert.equal(await store.load(), null, 'no file yet');
      const c = new TokenCalibrator();
      for (let i = 0; i < 30; i++) c.observe('glm-4.6', 1000, 1250 + (i % 5) * 10, i);
      assert.equal(c.changed, true);
      await store.save(c.snapshot(1000));
      assert.equal(c.changed, false);
      const restored = restoreSnapshot(await store.load(), 1000 + DAY, 7 * DAY);
      assert.ok(restored !== null);
      const d = new TokenCalibrator({}, restored);
      assert.equal(d.ratio('glm-4.6'), c.ratio('glm-4.6'));
      assert.equal(d.calibrate('glm-4.6', 777), c.calibrate('glm-4.6', 777));
      assert.equal(JSON.parse(readFileSync(path, 'utf8')).version, 1);
      writeFileSync(path, '{"version":1,'); // torn write
      assert.equal(await store.load(), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('restore drops old, foreign and malformed state', () => {
    const ok = {
      version: 1,
      savedAtMs: 0,
      models: { 'glm-4.6': { ratio: 1.3, samples: 5, updatedAtMs: 0 } },
    };
    assert.ok(restoreSnapshot(ok, DAY, 7 * DAY) !== null);
    assert.equal(restoreSnapshot(ok, 8 * DAY, 7 * DAY), null, 'older than the max age');
    assert.equal(restoreSnapshot({ ...ok, version: 2 }, 0, DAY), null);
    assert.equal(restoreSnapshot('x', 0, DAY), null);
    assert.equal(restoreSnapshot(null, 0, DAY), null);
    const mixed = restoreSnapshot(
      {
        ...ok,
        models: {
          'glm-4.6': { ratio: 1.3, samples: 5 },
          'GLM 4.6 custom': { ratio: 1.3, samples: 5 }, // not a folded label: never a metric label
          'glm-4.7': { ratio: -1, samples: 5 },
          'glm-5.1': { ratio: 1.2, samples: 0 },
        },
      },
      0,
      DAY,
    );
    assert.deepEqual(Object.keys(mixed!.models), ['glm-4.6']);
    const wild = new TokenCalibrator(
      { maxRatio: 2 },
      {
        version: 1,
        savedAtMs: 0,
        models: { 'glm-4.6': { ratio: 50, samples: 1, updatedAtMs: 0 } },
      },
    );
    assert.equal(wild.ratio('glm-4.6'), 2, 'a restored ratio is clamped too');
  });
});
