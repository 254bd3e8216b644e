// The collector on recorded exposition text: test/fixtures/proxy-<variant>-a.prom is a real proxy's
// /metrics after 3 requests, -b.prom after 7 more on the same process (4 ok, one upstream 500, one
// Z.AI 429 code 1308, one OpenAI chat completion).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import type { Point } from '../points/point.ts';
import { toSnapshot } from '../points/snapshot.ts';
import { createScrapeSource } from './scrape-source.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');
const PROD_A = fixture('proxy-production-a.prom');
const PROD_B = fixture('proxy-production-b.prom');
const CANARY_A = fixture('proxy-canary-a.prom');
const CANARY_B = fixture('proxy-canary-b.prom');

/** A source over fixed texts per URL; `set` swaps what the next scrape sees (an Error = transport failure). */
function source(initial: Record<string, string | Error>) {
  const texts = { ...initial };
  const src = createScrapeSource({
    targets: Object.keys(initial).map((url) => ({ name: new URL(url).hostname, url })),
    timeoutMs: 1000,
    maxBytes: 1 << 20,
    fetch: async (url) => {
      const t = texts[url]!;
      if (t instanceof Error) throw t;
      return t;
    },
  });
  return { src, set: (url: string, t: string | Error) => (texts[url] = t) };
}

const byVariant = (points: Point[]) => Object.fromEntries(points.map((p) => [p.variant, p]));
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

describe('scrape source on recorded proxy text', () => {
  test('first scrape: no deltas (nothing says when those counts happened), cumulative values as reported', async () => {
    const { src } = source({ 'http://prod/metrics': PROD_A });
    const tick = await src.collect(T0);
    const p = byVariant(tick.points).production!;
    assert.equal(p.delta.requests, 0);
    assert.equal(p.intervalMs, 0);
    assert.equal(p.cum.requests_2xx, 3);
    const s = toSnapshot(p);
    assert.equal(s.req_rate, null, 'no rate without a previous scrape');
    assert.equal(s.latency_p50, null);
    assert.equal(s.error_rate_pct, null);
  });

  test('second scrape: counts are exact deltas, histograms summed across series, money in micro-dollars', async () => {
    const { src, set } = source({ 'http://prod/metrics': PROD_A });
    await src.collect(T0);
    set('http://prod/metrics', PROD_B);
    const tick = await src.collect(T0 + 5000);
    const p = byVariant(tick.points).production!;
    assert.equal(p.intervalMs, 5000);
    assert.equal(p.delta.requests, 7);
    assert.equal(p.delta.requests_2xx, 5);
    assert.equal(p.delta.requests_5xx, 1);
    assert.equal(p.delta.requests_429, 1);
    assert.equal(p.delta.errors, 1, '5xx counts, the passed-through 429 does not');
    assert.deepEqual(p.delta.status, { '200': 5, '429': 1, '500': 1 });
    assert.deepEqual(p.delta.zai_errors, { quota: 1 });
    const tokens = (text: string, direction: string) =>
      sumSamples(text, 'zai_proxy_tokens_total', { direction });
    assert.equal(p.delta.tokens_input, tokens(PROD_B, 'input') - tokens(PROD_A, 'input'));
    assert.equal(p.delta.tokens_output, tokens(PROD_B, 'output') - tokens(PROD_A, 'output'));
    // Duration histogram: 10 observations in b over 4 series, 3 in a.
    const dur = p.hist.duration!;
    assert.equal(dur.count.at(-1), 7);
    assert.equal(p.hist.ttfb!.count.at(-1), 8 - 3);
    const s = toSnapshot(p);
    assert.equal(s.req_rate, 7 / 5);
    assert.ok(typeof s.latency_p95 === 'number' && (s.latency_p95 as number) > 0);
    assert.equal(s.error_rate_pct, (100 * 1) / 7);
    // Usage rows split by model; micro-dollars are integers.
    const models = tick.usage.map((u) => u.model).sort();
    assert.deepEqual(models, ['glm-4.5-air', 'glm-4.6']);
    for (const u of tick.usage) for (const m of u.micro) assert.ok(Number.isInteger(m));
    const micro = (text: string) =>
      text
        .split('\n')
        .filter(
          (l) => l.startsWith('zai_proxy_estimated_cost_usd_total{') && l.includes('direction="output"'),
        )
        .reduce((sum, l) => sum + Math.round(Number(l.split(' ').at(-1)) * 1e6), 0);
    assert.equal(p.delta.cost_micro_usd_output, micro(PROD_B) - micro(PROD_A));
  });

  test('counter resets are per series: one series restarting is not hidden by another growing', async () => {
    const text = (x: number, y: number) =>
      [
        '# TYPE zai_proxy_requests_total counter',
        `zai_proxy_requests_total{status_code="200",variant="production",path="/a"} ${x}`,
        `zai_proxy_requests_total{status_code="200",variant="production",path="/b"} ${y}`,
        '',
      ].join('\n');
    const { src, set } = source({ 'http://prod/metrics': text(10, 5) });
    await src.collect(T0);
    set('http://prod/metrics', text(2, 20)); // /a reset to 0 then +2; /b +15: the aggregate went 15 → 22
    const p = byVariant((await src.collect(T0 + 5000)).points).production!;
    assert.equal(p.delta.requests, 17);
  });

  test('a restarted proxy: every series reset, the new values are the increase, nothing negative', async () => {
    const { src, set } = source({ 'http://prod/metrics': PROD_B });
    await src.collect(T0);
    set('http://prod/metrics', PROD_A);
    const p = byVariant((await src.collect(T0 + 5000)).points).production!;
    assert.equal(p.delta.requests, 3);
    assert.equal(p.hist.duration!.count.at(-1), 3);
    for (const c of p.hist.duration!.count) assert.ok(c >= 0);
  });

  test('a series that appears after the first scrape counts in full', async () => {
    const { src, set } = source({ 'http://prod/metrics': PROD_A });
    await src.collect(T0);
    set('http://prod/metrics', PROD_B);
    const p = byVariant((await src.collect(T0 + 5000)).points).production!;
    assert.equal(p.delta.status['500'], 1, 'the 500 series did not exist in a');
  });

  test('NaN and ±Inf samples are skipped; a quantile with no observations is null, never NaN', async () => {
    const text = [
      '# TYPE zai_proxy_concurrent_requests gauge',
      'zai_proxy_concurrent_requests{variant="production"} NaN',
      '# TYPE zai_proxy_max_workers gauge',
      'zai_proxy_max_workers{variant="production"} +Inf',
      '# TYPE zai_proxy_requests_total counter',
      'zai_proxy_requests_total{status_code="200",variant="production"} 4',
      '# TYPE zai_proxy_request_duration_seconds histogram',
      'zai_proxy_request_duration_seconds_bucket{le="0.1",variant="production"} 0',
      'zai_proxy_request_duration_seconds_bucket{le="+Inf",variant="production"} 0',
      'zai_proxy_request_duration_seconds_sum{variant="production"} 0',
      'zai_proxy_request_duration_seconds_count{variant="production"} 0',
      '',
    ].join('\n');
    const { src } = source({ 'http://prod/metrics': text });
    await src.collect(T0);
    const p = byVariant((await src.collect(T0 + 5000)).points).production!;
    const s = toSnapshot(p);
    assert.equal(s.concurrent_requests, null);
    assert.equal(s.max_workers, null);
    assert.equal(s.worker_utilization, null);
    assert.equal(s.latency_p50, null);
    assert.ok(!JSON.stringify(s).includes('NaN'));
    assert.ok(!JSON.stringify(s).includes('Infinity'));
  });

  test('missing families: a proxy without histograms or token counting still gives a point', async () => {
    const text =
      '# TYPE zai_proxy_requests_total counter\nzai_proxy_requests_total{status_code="200",variant="v"} 1\n';
    const { src } = source({ 'http://prod/metrics': text });
    const s = toSnapshot(byVariant((await src.collect(T0)).points).v!);
    assert.equal(s.latency_p99, null);
    assert.equal(s.tokens_input, 0);
    assert.equal(s.request_size_avg, null);
    assert.deepEqual(s.status_code_rates, {});
  });

  test('a strict-parse failure marks the target down with the line, keeps its state; the next good scrape covers the gap', async () => {
    const { src, set } = source({ 'http://prod/metrics': PROD_A });
    await src.collect(T0);
    set('http://prod/metrics', `${PROD_B}\nzai_proxy_requests_total{status_code="200" 7\n`);
    const bad = await src.collect(T0 + 5000);
    assert.equal(bad.points.length, 0);
    const h = src.targets()[0]!;
    assert.equal(h.up, false);
    assert.match(h.last_error!, /^parse error at line \d+: /);
    assert.equal(h.consecutive_failures, 1);
    set('http://prod/metrics', PROD_B);
    const p = byVariant((await src.collect(T0 + 10_000)).points).production!;
    assert.equal(p.delta.requests, 7);
    assert.equal(p.intervalMs, 10_000, 'the rate is over the whole gap');
    assert.equal(src.targets()[0]!.up, true);
    assert.equal(src.targets()[0]!.last_error, null);
  });

  test('a transport failure is reported per target and does not stop the others', async () => {
    const { src } = source({
      'http://prod/metrics': PROD_A,
      'http://canary/metrics': new Error('ECONNREFUSED'),
    });
    const tick = await src.collect(T0);
    assert.deepEqual(
      tick.points.map((p) => p.variant),
      ['production'],
    );
    const [prod, canary] = src.targets();
    assert.equal(prod!.up, true);
    assert.deepEqual(prod!.variants, ['production']);
    assert.equal(canary!.up, false);
    assert.equal(canary!.last_error, 'ECONNREFUSED');
  });

  test('multiple targets and variants: by the scraped variant label, any number of them', async () => {
    const third = PROD_A.replaceAll('variant="production"', 'variant="canary-2"');
    const { src, set } = source({
      'http://prod/metrics': PROD_A,
      'http://canary/metrics': CANARY_A,
      'http://third/metrics': third,
    });
    await src.collect(T0);
    set('http://prod/metrics', PROD_B);
    set('http://canary/metrics', CANARY_B);
    const tick = await src.collect(T0 + 5000);
    assert.deepEqual(
      tick.points.map((p) => [p.variant, p.delta.requests, p.targetsUp, p.targetsTotal]),
      [
        ['canary', 7, 1, 1],
        ['canary-2', 0, 1, 1],
        ['production', 7, 1, 1],
      ],
    );
  });

  test('two replicas of one variant: counts and gauges add, utilisation is in-flight ÷ capacity (not a sum of ratios)', async () => {
    const replica = (inflight: number, max: number, n: number) =>
      [
        '# TYPE zai_proxy_concurrent_requests gauge',
        `zai_proxy_concurrent_requests{variant="production"} ${inflight}`,
        '# TYPE zai_proxy_max_workers gauge',
        `zai_proxy_max_workers{variant="production"} ${max}`,
        '# TYPE zai_proxy_worker_utilization_ratio gauge',
        `zai_proxy_worker_utilization_ratio{variant="production"} ${inflight / max}`,
        '# TYPE zai_proxy_requests_total counter',
        `zai_proxy_requests_total{status_code="200",variant="production"} ${n}`,
        '',
      ].join('\n');
    const { src, set } = source({
      'http://r1/metrics': replica(9, 10, 1),
      'http://r2/metrics': replica(1, 10, 1),
    });
    await src.collect(T0);
    set('http://r1/metrics', replica(9, 10, 5));
    set('http://r2/metrics', replica(1, 10, 3));
    const p = byVariant((await src.collect(T0 + 5000)).points).production!;
    assert.equal(p.targetsTotal, 2);
    assert.equal(p.delta.requests, 6);
    const s = toSnapshot(p);
    assert.equal(s.concurrent_requests, 10);
    assert.equal(s.max_workers, 20);
    assert.equal(s.worker_utilization, 0.5, 'the original summed 0.9 + 0.1 per series');
  });

  test('a client label splits usage rows per client (the proxy will add it; the collector is ready)', async () => {
    const withClient = (text: string) =>
      text
        .split('\n')
        .map((l) =>
          /^zai_proxy_(tokens|estimated_cost_usd)_total\{/.test(l)
            ? l.replace('{', `{client="${l.includes('glm-4.6') ? 'source-01' : 'source-02'}",`)
            : l,
        )
        .join('\n');
    const { src, set } = source({ 'http://prod/metrics': withClient(PROD_A) });
    await src.collect(T0);
    set('http://prod/metrics', withClient(PROD_B));
    const tick = await src.collect(T0 + 5000);
    const clients = Object.fromEntries(tick.usage.map((u) => [u.client, u]));
    assert.deepEqual(Object.keys(clients).sort(), ['source-01', 'source-02']);
    assert.equal(clients['source-02']!.model, 'glm-4.5-air');
    const p = byVariant(tick.points).production!;
    assert.equal(
      p.delta.tokens_input,
      tick.usage.reduce((s, u) => s + u.tokens[0], 0),
      'the variant total is the sum of the clients',
    );
  });
});
