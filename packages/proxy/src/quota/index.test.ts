// The quota module against the simulated endpoint on a virtual clock: /health, the zai_proxy_quota_*
// series rendering the same sample, and polls touching the gate only with enforcement on.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { parsePrometheusText, samplesOf } from '@zai-proxy/prom-text';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { createQuota, goDuration, labelValue, SHARED_ACCOUNT } from './index.ts';

const KEY = 'zai-quota-KEY-0123456789abcdef';
const MIN = 60_000;
let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream({ apiKey: KEY });
});
after(() => sim.close());
beforeEach(() => sim.reset());

function rig(env: Record<string, string> = {}, ownUnits?: () => number) {
  const cfg = loadConfig({
    ZAI_API_KEY: KEY,
    QUOTA_POLL_ENABLED: 'true',
    ZAI_QUOTA_BASE_URL: sim.url,
    DEPLOYMENT_VARIANT: 'Canary 1',
    ...env,
  });
  let now = Date.now();
  const logs: string[] = [];
  const metrics = createMetrics(cfg.DEPLOYMENT_VARIANT);
  const q = createQuota(cfg, {
    log: createLogger('debug', { write: (s: string) => void logs.push(s) }),
    metrics,
    clock: { now: () => now, sleep: () => new Promise(() => {}) },
    ...(ownUnits ? { ownUnits } : {}),
  });
  return {
    q,
    logs,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    poll: (scenario: string) => {
      sim.enqueue(`${scenario};route=quota`);
      return q.poller!.pollOnce();
    },
    series: async () => {
      const f = parsePrometheusText(await metrics.registry.metrics());
      return (name: string, labels: Record<string, string> = {}) => samplesOf(f, name, labels)[0]?.value;
    },
  };
}

describe('quota module: /health and metrics', () => {
  test('disabled: the original section, plus the gate', async () => {
    const r = rig({ QUOTA_POLL_ENABLED: 'false' });
    assert.equal(r.q.poller, null);
    assert.deepEqual(r.q.health(), {
      enabled: false,
      fresh: false,
      gate: { enabled: true, enforcement: false, open: true, closed_accounts: 0, closed: [] },
    });
    assert.match(r.logs.join(''), /Quota polling disabled \(QUOTA_POLL_ENABLED is not true\)/);
    await r.q.close();
  });

  test('pass-through mode polls nothing (no key of its own)', async () => {
    const r = rig({ ZAI_API_KEY: '' });
    assert.equal(r.q.poller, null);
    assert.match(r.logs.join(''), /pass-through mode has no Z\.AI key of its own/);
  });

  test('a sample: the same numbers in /health and in the series, sanitised labels', async () => {
    const r = rig();
    await r.poll('ok;limit_type=CREDIT_LIMIT;five_hour_pct=37;weekly_pct=52;shape=current');
    r.advance(42_000);
    const h = r.q.health();
    assert.equal(h.enabled, true);
    assert.equal(h.fresh, true);
    assert.equal(h.interval, '1m0s');
    assert.equal(h.stale_after, '15m0s');
    assert.equal(h.last_outcome, 'success');
    assert.equal(h.sample_age_seconds, 42);
    assert.equal(h.plan_tier, 'pro');
    const windows = h.windows as {
      window: string;
      limit_type: string;
      used_fraction: number;
      reset_at: string;
    }[];
    assert.deepEqual(
      windows.map((w) => [w.window, w.limit_type, w.used_fraction]),
      [
        ['five_hour', 'TOKENS_LIMIT', 0.37],
        ['weekly', 'TOKENS_LIMIT', 0.52],
      ],
    );
    assert.match(windows[0]!.reset_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual((h.tool_calls as { limit: number }).limit, 1000);
    const get = await r.series();
    assert.equal(
      get('zai_proxy_quota_usage_ratio', {
        window: 'five_hour',
        limit_type: 'tokens_limit',
        variant: 'canary_1',
      }),
      0.37,
    );
    assert.equal(
      get('zai_proxy_quota_remaining_ratio', { window: 'weekly', limit_type: 'tokens_limit' }),
      0.48,
    );
    assert.equal(
      get('zai_proxy_quota_reset_time_seconds', { window: 'five_hour' }),
      Date.parse(windows[0]!.reset_at) / 1000,
    );
    assert.equal(get('zai_proxy_quota_sample_age_seconds', {}), 42);
    assert.equal(get('zai_proxy_quota_poll_total', { result: 'success' }), 1);
    assert.equal(get('zai_proxy_quota_tool_usage_ratio', {}), 0.042);
    assert.equal(get('zai_proxy_quota_gate_open', { window: 'weekly' }), 1);
    await r.q.close();
  });

  test('an outage: stale counted once, last values still exported, /health not fresh', async () => {
    const r = rig({ QUOTA_STALE_AFTER: '2m' });
    await r.poll('ok;five_hour_pct=10');
    for (let i = 0; i < 5; i++) {
      r.advance(MIN);
      await r.poll('status;code=503');
    }
    const h = r.q.health();
    assert.equal(h.fresh, false);
    assert.equal(h.last_outcome, 'error');
    const s = await r.series();
    assert.equal(s('zai_proxy_quota_poll_total', { result: 'stale' }), 1);
    assert.equal(s('zai_proxy_quota_poll_total', { result: 'error' }), 5);
    assert.equal(s('zai_proxy_quota_usage_ratio', { window: 'five_hour' }), 0.1);
  });

  test('the forecast reaches /health and the series', async () => {
    let own = 0;
    const r = rig({}, () => own);
    for (let i = 0; i <= 10; i++) {
      own += i % 3 === 0 ? 0 : 100;
      await r.poll(`ok;five_hour_pct=${10 + i}`);
      r.advance(MIN);
    }
    const w = (r.q.health().windows as { forecast: { burn_per_hour: number; projection: string } }[])[0]!;
    assert.ok(Math.abs(w.forecast.burn_per_hour - 0.6) < 1e-9);
    assert.equal(w.forecast.projection, 'before_reset');
    const s = await r.series();
    assert.ok(Math.abs(s('zai_proxy_quota_burn_rate', { window: 'five_hour' })! - 0.6) < 1e-9);
    assert.ok(s('zai_proxy_quota_exhaustion_time_seconds', { window: 'five_hour' })! > Date.now() / 1000);
  });
});

describe('quota module: the window budgets read', () => {
  test('the last fresh sample of a window, null once it is stale or its reset has passed', async () => {
    const r = rig({ QUOTA_STALE_AFTER: '2m' });
    assert.equal(r.q.window('five_hour'), null, 'before the first poll');
    await r.poll('ok;five_hour_pct=40;weekly_pct=10');
    const w = r.q.window('five_hour')!;
    assert.equal(w.usedFraction, 0.4);
    assert.equal(w.externalShare, 0);
    r.advance(2 * MIN);
    assert.equal(r.q.window('five_hour')?.resetAtMs, w.resetAtMs, 'fresh at QUOTA_STALE_AFTER');
    r.advance(1);
    assert.equal(r.q.window('five_hour'), null, 'stale');
    await r.poll('ok;five_hour_pct=45;weekly_pct=10');
    assert.equal(r.q.window('five_hour')?.usedFraction, 0.45, 'fresh again');

    const long = rig({ QUOTA_STALE_AFTER: '24h' });
    await long.poll('ok;five_hour_pct=40;weekly_pct=10');
    const reset = long.q.window('five_hour')!.resetAtMs;
    long.advance(reset - 1 - long.now());
    assert.equal(long.q.window('five_hour')?.resetAtMs, reset, 'a millisecond before its reset');
    long.advance(1);
    assert.equal(long.q.window('five_hour'), null, 'the sampled window is over; the next is not known');
  });
});

describe('quota module: polls and the gate', () => {
  test('without enforcement a spent poll never changes admission', async () => {
    const r = rig();
    await r.poll('ok;five_hour_pct=100;weekly_pct=137');
    assert.deepEqual(r.q.gate!.check(SHARED_ACCOUNT), { admit: true, probe: false });
    await r.poll('status;code=503');
    r.advance(20 * MIN);
    await r.poll('invalid_json');
    assert.deepEqual(r.q.gate!.check(SHARED_ACCOUNT), { admit: true, probe: false });
  });

  test('with enforcement: a poll beyond 1 − reserve closes until reset; a poll with room reopens', async () => {
    const r = rig({ QUOTA_ENFORCEMENT_ENABLED: 'true', QUOTA_RESERVE_FRACTION: '0.1' });
    await r.poll('ok;five_hour_pct=50;weekly_pct=91');
    const v = r.q.gate!.check(SHARED_ACCOUNT);
    assert.equal(v.admit, false);
    assert.equal(!v.admit && v.window, 'weekly');
    const s = await r.series();
    assert.equal(s('zai_proxy_quota_gate_open', { window: 'weekly' }), 0);
    assert.equal(s('zai_proxy_quota_gate_open', { window: 'five_hour' }), 1);
    r.advance(MIN);
    await r.poll('ok;five_hour_pct=50;weekly_pct=20');
    assert.deepEqual(r.q.gate!.check(SHARED_ACCOUNT), { admit: true, probe: false });
  });

  test('QUOTA_GATE_ENABLED=false: no gate, answers are ignored', () => {
    const r = rig({ QUOTA_GATE_ENABLED: 'false' });
    assert.equal(r.q.gate, null);
    r.q.onQuotaAnswer({ account: SHARED_ACCOUNT, window: 'weekly', resetAtMs: Date.now() + 3_600_000 });
    assert.deepEqual(r.q.health().gate, { enabled: false });
  });
});

test('labelValue and goDuration', () => {
  assert.equal(labelValue(' CREDIT_LIMIT '), 'credit_limit');
  assert.equal(labelValue(''), 'unknown');
  assert.equal(labelValue('a'.repeat(40)), 'a'.repeat(32));
  assert.deepEqual([60_000, 900_000, 5000, 1500, 3_600_000, 90_061_000, 250].map(goDuration), [
    '1m0s',
    '15m0s',
    '5s',
    '1.5s',
    '1h0m0s',
    '25h1m1s',
    '250ms',
  ]);
});
