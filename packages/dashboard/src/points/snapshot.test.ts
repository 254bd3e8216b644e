// Snapshots of merged points (rollups, coarser steps) and of rows stored before admission existed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePoint, encodePoint } from '../store/codec.ts';
import { emptyPoint, mergePoints, type Point } from './point.ts';
import { toSnapshot } from './snapshot.ts';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function point(ts: number, limit: number, queued: number, refusals: Record<string, number>): Point {
  const p = emptyPoint(ts, 'production', 5000);
  p.gauges.concurrency_limit = { sum: limit, n: 1 };
  p.gauges.queue_depth = { sum: queued, n: 1 };
  p.delta.admission_refusals = refusals;
  p.delta.concurrency_adjustments = { decrease: 1 };
  p.delta.quota_gate_rejections = 2;
  p.hist.queue_wait = { le: [0.1, 1, Number.POSITIVE_INFINITY], count: [1, 2, 2], sum: 0.6 };
  return p;
}

test('a merged point: limit and queue depth are means, refusals by reason and decisions add up', () => {
  const m = mergePoints(T0, [
    point(T0, 4, 0, { queue_full: 1 }),
    point(T0 + 5000, 2, 6, { queue_full: 2, queue_timeout: 1 }),
  ]);
  const s = toSnapshot(m);
  assert.equal(s.concurrency_limit, 3);
  assert.equal(s.queue_depth, 3);
  const d = s.delta as Record<string, unknown>;
  assert.deepEqual(d.admission_refusals, { queue_full: 3, queue_timeout: 1 });
  assert.deepEqual(d.concurrency_adjustments, { decrease: 2 });
  assert.equal(d.quota_gate_rejections, 4);
  assert.equal(s.queue_wait_p50, 100, 'two of four waits under 100 ms');
});

test('the new fields survive the store, and a row stored before them decodes to null and {}', () => {
  const p = point(T0, 4, 1, { max_workers: 1 });
  assert.deepEqual(toSnapshot(decodePoint(T0, 'production', encodePoint(p))), toSnapshot(p));
  const old = encodePoint(emptyPoint(T0, 'production', 5000)).replace(
    /"admission_refusals":\{\},"concurrency_adjustments":\{\},|"quota_gate_rejections":0,/g,
    '',
  );
  assert.ok(!old.includes('admission_refusals') && !old.includes('quota_gate_rejections'));
  const s = toSnapshot(decodePoint(T0, 'production', old));
  assert.equal(s.concurrency_limit, null);
  assert.equal(s.queue_wait_p95, null);
  const d = s.delta as Record<string, unknown>;
  assert.deepEqual(d.admission_refusals, {});
  assert.equal(d.quota_gate_rejections, 0);
});
