import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentileSorted } from './sample-stats.ts';

test('nearest-rank percentile and median', () => {
  const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileSorted(s, 0.5), 50);
  assert.equal(percentileSorted(s, 0.99), 99);
  assert.equal(percentileSorted(s, 1), 100);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});
