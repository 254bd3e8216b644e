import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addHistograms, diffHistograms, histogramQuantile, readHistogram, totalCount } from './histogram.ts';

const TEXT = [
  '# TYPE zai_proxy_overhead_seconds histogram',
  'zai_proxy_overhead_seconds_bucket{le="0.0001",path="/v1/messages",variant="production"} 50',
  'zai_proxy_overhead_seconds_bucket{le="0.001",path="/v1/messages",variant="production"} 90',
  'zai_proxy_overhead_seconds_bucket{le="+Inf",path="/v1/messages",variant="production"} 100',
  'zai_proxy_overhead_seconds_sum{path="/v1/messages",variant="production"} 0.5',
  'zai_proxy_overhead_seconds_bucket{le="0.0001",path="/v1/chat/completions",variant="production"} 0',
  'zai_proxy_overhead_seconds_bucket{le="0.001",path="/v1/chat/completions",variant="production"} 0',
  'zai_proxy_overhead_seconds_bucket{le="+Inf",path="/v1/chat/completions",variant="production"} 0',
  'zai_proxy_time_to_first_byte_seconds_bucket{le="0.005",path="/v1/messages",variant="production"} 7',
].join('\n');

test('readHistogram keeps one metric, keyed by the label, buckets ascending', () => {
  const h = readHistogram(TEXT, 'zai_proxy_overhead_seconds', 'path');
  assert.deepEqual([...h.keys()], ['/v1/messages', '/v1/chat/completions']);
  assert.deepEqual(h.get('/v1/messages'), {
    le: [0.0001, 0.001, Number.POSITIVE_INFINITY],
    count: [50, 90, 100],
  });
});

test('histogramQuantile interpolates like histogram_quantile', () => {
  const h = readHistogram(TEXT, 'zai_proxy_overhead_seconds', 'path').get('/v1/messages')!;
  assert.equal(histogramQuantile(h, 0.5), 0.0001); // rank 50 closes the first bucket
  assert.ok(Math.abs(histogramQuantile(h, 0.25) - 0.00005) < 1e-12); // half-way through [0, 100 µs]
  assert.ok(Math.abs(histogramQuantile(h, 0.7) - 0.00055) < 1e-12); // half-way through (100 µs, 1 ms]
  assert.equal(histogramQuantile(h, 0.99), 0.001); // in +Inf: the highest finite bound
  const empty = readHistogram(TEXT, 'zai_proxy_overhead_seconds', 'path').get('/v1/chat/completions')!;
  assert.ok(Number.isNaN(histogramQuantile(empty, 0.5)));
});

test('diff and add of snapshots', () => {
  const a = readHistogram(TEXT, 'zai_proxy_overhead_seconds', 'path');
  const d = diffHistograms(a, a);
  assert.equal(totalCount(d.get('/v1/messages')!), 0);
  const twice = addHistograms(a, a);
  assert.deepEqual(twice.get('/v1/messages')!.count, [100, 180, 200]);
  assert.deepEqual(diffHistograms(twice, a).get('/v1/messages')!.count, [50, 90, 100]);
});
