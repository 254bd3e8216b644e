import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { cheapChildren } from './metric-children.ts';

const BUCKETS = [0.005, 0.01, 0.25, 1, 10];

function pair(cheap: boolean) {
  const registry = new Registry();
  const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['a', 'b'], registers: [registry] });
  const h = new Histogram({
    name: 'h_seconds',
    help: 'h',
    labelNames: ['a'],
    buckets: BUCKETS,
    registers: [registry],
  });
  if (cheap) {
    cheapChildren(c);
    cheapChildren(h);
  }
  return { registry, c, h };
}

// A small deterministic generator, so a failure replays.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('cheap children expose exactly what prom-client exposes, through resets and removals', async () => {
  const plain = pair(false);
  const cheap = pair(true);
  const rand = rng(7);
  const values = [0, 0.005, 0.0049, 0.01, 0.2, 0.25, 0.9, 1, 3, 10, 11, 1e6];
  for (let i = 0; i < 5000; i++) {
    const a = `a${Math.floor(rand() * 3)}`;
    const b = String(Math.floor(rand() * 2));
    const op = rand();
    for (const { c, h } of [plain, cheap]) {
      if (op < 0.45) c.labels(a, b).inc(Math.floor(op * 10));
      else if (op < 0.9) h.labels(a).observe(values[i % values.length]!);
      else if (op < 0.93) c.reset();
      else if (op < 0.96) h.reset();
      else if (op < 0.98) c.remove(a, b);
      else h.remove(a);
    }
    if (i % 500 === 0) assert.equal(await cheap.registry.metrics(), await plain.registry.metrics());
  }
  assert.equal(await cheap.registry.metrics(), await plain.registry.metrics());
});

test('cheap children refuse what prom-client refuses', () => {
  const { c, h } = pair(true);
  c.labels('x', 'y').inc(); // the record exists: the fast path runs next
  h.labels('x').observe(1);
  assert.throws(() => c.labels('x', 'y').inc(-1), /decrease/);
  assert.throws(() => h.labels('x').observe(Number.NaN), /not a valid number/);
  assert.throws(() => c.labels('x'), /expected 2 label values/);
});
