import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { createCountTokensLocal } from './count-tokens.ts';
import type { CalibrationSnapshot, CalibrationStore } from './token-calibration.ts';

function memoryStore(): CalibrationStore & { saved: CalibrationSnapshot[] } {
  const saved: CalibrationSnapshot[] = [];
  return {
    saved,
    load: () => Promise.resolve(saved.at(-1) ?? null),
    save: (s) => {
      saved.push(s);
      return Promise.resolve();
    },
  };
}

function setup(over: { sampleIntervalMs?: number; store?: CalibrationStore | null } = {}) {
  let now = 1_000_000;
  const metrics = createMetrics('test');
  const logs: string[] = [];
  const local = createCountTokensLocal({
    estimate: (json) => Promise.resolve((json as { n: number }).n), // the raw estimate is the body's n
    metrics,
    log: createLogger('info', { write: (s: string) => void logs.push(s) }),
    now: () => now,
    sampleIntervalMs: over.sampleIntervalMs ?? 0,
    rememberUnsupportedMs: 3_600_000,
    store: over.store === undefined ? null : over.store,
    restored: null,
  });
  const tick = (ms: number) => {
    now += ms;
  };
  return { local, metrics, logs, tick };
}
const flush = () => new Promise((r) => setImmediate(r));

test('answers the raw estimate until the model has a ratio, then the calibrated one', async () => {
  const { local } = setup();
  assert.deepEqual(await local.answer('glm-4.6', { n: 1000 }), { tokens: 1000, source: 'estimate' });
  local.learn('glm-4.6', { n: 1000 }, 1270);
  await flush();
  assert.deepEqual(await local.answer('glm-4.6', { n: 2000 }), {
    tokens: 2540,
    source: 'estimate-calibrated',
  });
  assert.deepEqual(await local.answer('glm-5.1', { n: 2000 }), { tokens: 2000, source: 'estimate' });
});

test('exports the ratio and the raw and calibrated error of each sample', async () => {
  const { local, metrics } = setup();
  local.learn('glm-4.6', { n: 1000 }, 1250);
  await flush();
  local.learn('glm-4.6', { n: 1000 }, 1250);
  await flush();
  const text = await metrics.registry.metrics();
  assert.match(text, /zai_proxy_token_calibration_ratio\{model="glm-4\.6",variant="test"\} 1\.25/);
  assert.match(
    text,
    /zai_proxy_token_estimate_error_ratio_count\{model="glm-4\.6",variant="test",estimate="raw"\} 2/,
  );
  // raw error (1000 - 1250) / 1250 = -0.2 both times, in the le=-0.2 bucket
  assert.match(
    text,
    /zai_proxy_token_estimate_error_ratio_bucket\{le="-0\.2",model="glm-4\.6",variant="test",estimate="raw"\} 2/,
  );
  // the second sample's calibrated error is 0
  assert.match(
    text,
    /zai_proxy_token_estimate_error_ratio_bucket\{le="0",model="glm-4\.6",variant="test",estimate="calibrated"\} 2/,
  );
  assert.deepEqual(local.health(), { calibration: { 'glm-4.6': 1.25 } });
});

test('samples at most once per model per interval', async () => {
  const { local, metrics, tick } = setup({ sampleIntervalMs: 10_000 });
  for (let i = 0; i < 5; i++) local.learn('glm-4.6', { n: 1000 }, 1270);
  local.learn('glm-4.7', { n: 1000 }, 1100);
  await flush();
  tick(10_000);
  local.learn('glm-4.6', { n: 1000 }, 1270);
  await flush();
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /zai_proxy_token_estimate_error_ratio_count\{model="glm-4\.6",variant="test",estimate="raw"\} 2/,
  );
  assert.match(
    text,
    /zai_proxy_token_estimate_error_ratio_count\{model="glm-4\.7",variant="test",estimate="raw"\} 1/,
  );
});

test('saves what it learned on close; nothing when nothing changed; a failing store warns once', async () => {
  const store = memoryStore();
  const { local } = setup({ store });
  await local.close();
  assert.equal(store.saved.length, 0);
  local.learn('glm-4.6', { n: 1000 }, 1300);
  await flush();
  await local.close();
  assert.equal(store.saved.length, 1);
  assert.equal(store.saved[0]!.models['glm-4.6']!.ratio, 1.3);

  const broken: CalibrationStore = {
    load: () => Promise.resolve(null),
    save: () => Promise.reject(Object.assign(new Error('ro'), { code: 'EROFS' })),
  };
  const b = setup({ store: broken });
  for (let i = 0; i < 3; i++) {
    b.local.learn('glm-4.6', { n: 1000 }, 1300 + i);
    await flush();
    await b.local.close();
  }
  assert.equal(b.logs.filter((l) => l.includes('Cannot save the token calibration state')).length, 1);
});
