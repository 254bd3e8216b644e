import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CapacityStep,
  halfOf,
  kneeOf,
  type Measured,
  rssSlope,
  slope,
  verdicts,
} from './suite-verdicts.ts';

const step = (target: string, n: number, lateP99: number, errors = 0, rssMb?: number): CapacityStep => ({
  target,
  n,
  lateP99,
  errors,
  ...(rssMb === undefined ? {} : { rssBytes: rssMb * 1024 * 1024 }),
});

test('the knee is the last step a target passed, its gap measured over the direct upstream at the same N', () => {
  const steps = [
    step('direct', 250, 2),
    step('proxy', 250, 5),
    step('direct', 500, 3),
    step('proxy', 500, 12), // +9 over direct: passes
    step('direct', 750, 4),
    step('proxy', 750, 15), // +11: fails
    step('direct', 1000, 4),
  ];
  assert.deepEqual(kneeOf(steps, 'proxy', 'direct', 10), { target: 'proxy', knee: 500, limitedBy: 'target' });
  assert.deepEqual(kneeOf(steps, 'direct', 'direct', 10), {
    target: 'direct',
    knee: 1000,
    limitedBy: 'steps',
  });
});

test('errors fail a step; a failed first step has no knee', () => {
  const steps = [step('direct', 250, 1), step('proxy', 250, 1, 3)];
  assert.deepEqual(kneeOf(steps, 'proxy', 'direct', 10), {
    target: 'proxy',
    knee: null,
    limitedBy: 'target',
  });
});

test('a step the direct upstream fails does not count: the load generator is the limit there', () => {
  const steps = [
    step('direct', 250, 1),
    step('proxy', 250, 2),
    step('direct', 500, 11), // the floor itself is over the bound
    step('proxy', 500, 30),
  ];
  assert.deepEqual(kneeOf(steps, 'proxy', 'direct', 10), {
    target: 'proxy',
    knee: 250,
    limitedBy: 'load-generator',
  });
});

test('RSS slope per stream over the steps where no stream failed', () => {
  assert.equal(
    slope([
      { x: 0, y: 1 },
      { x: 2, y: 5 },
    ]),
    2,
  );
  assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }])));
  const steps = [
    step('direct', 100, 1),
    step('proxy', 100, 1, 0, 60),
    step('direct', 200, 1),
    step('proxy', 200, 1, 0, 62), // 2 MiB per 100 streams
    step('direct', 300, 1),
    step('proxy', 300, 50, 0, 64), // late, but every stream open: counted
    step('direct', 400, 1),
    step('proxy', 400, 1, 7, 90), // streams failed: left out
  ];
  assert.equal(rssSlope(steps, 'proxy'), (2 * 1024 * 1024) / 100);
});

const measured = (over: Partial<Measured> = {}): Measured => ({
  knee: {
    proxy: { target: 'proxy', knee: 1000, limitedBy: 'target' },
    nginx: { target: 'nginx', knee: 1500, limitedBy: 'target' },
  },
  rssSlopeBytes: 20 * 1024,
  rssGrowth: 0.04,
  addedC1: { proxy: 120, nginx: 50 },
  addedTtfb: { proxy: 200, nginx: 50 },
  rpsC64: { proxy: 5000, nginx: 9000, portkey: 700 },
  ...over,
});

test('verdicts: each target met, not met, or not judged', () => {
  const met = (m: Measured) => verdicts(m).map((v) => v.met);
  assert.deepEqual(met(measured()), [true, true, true, true, true, true, false, false]);
  // A knee held back by the load generator below 1,000 is neither met nor a miss.
  assert.deepEqual(
    met(
      measured({ knee: { proxy: { target: 'proxy', knee: 750, limitedBy: 'load-generator' }, nginx: null } }),
    ).slice(0, 2),
    [null, null],
  );
  assert.deepEqual(
    met(
      measured({ knee: { proxy: { target: 'proxy', knee: 500, limitedBy: 'target' }, nginx: null } }),
    ).slice(0, 2),
    [false, null],
  );
  const noPortkey = verdicts(measured({ rpsC64: { proxy: 5000, nginx: 9000, portkey: Number.NaN } }));
  assert.equal(noPortkey[6]!.met, null);
  assert.equal(met(measured({ rssGrowth: 0.2 }))[3], false);
});

test('half of the nginx knee: judged only when the knees say it for sure', () => {
  const k = (knee: number | null, limitedBy: 'target' | 'load-generator' | 'steps' = 'target') => ({
    target: 'x',
    knee,
    limitedBy,
  });
  assert.equal(halfOf(k(500), k(1000)), true);
  assert.equal(halfOf(k(250), k(1000)), false);
  assert.equal(halfOf(k(null), k(500)), false);
  assert.equal(halfOf(k(null), k(null)), null); // both under the first step
  assert.equal(halfOf(k(750), k(1000, 'load-generator')), null); // nginx may hold more
  assert.equal(halfOf(k(1500, 'steps'), k(1500, 'steps')), null);
});
