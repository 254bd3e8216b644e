// Admission end to end with the default settings: the proxy in front of a simulated Z.AI that holds
// the account to a few requests in flight (1302 beyond), driven by the official SDKs with their own
// retries off, so every failure the proxy lets through would show.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { sumSamples } from '@zai-proxy/prom-text';
import { until } from '@zai-proxy/testkit';
import { type AnyJson, type Stack, startStack } from './harness.ts';

const STREAM = { 'x-sim-scenario': 'ok;events=8;delay=15' }; // ~120 ms per stream
const MESSAGE = { model: 'glm-4.6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

const postJson = (s: Stack, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** One stream the sim holds at its gate (one attempt in flight) until release() lets it finish. */
async function holdStream(s: Stack): Promise<{ release(): Promise<void> }> {
  const held = postJson(s, '/v1/messages', { ...MESSAGE, stream: true }, { 'x-sim-scenario': 'ok;gate=1' });
  await s.sim.waitFor((j) => j.length === 1);
  return {
    async release() {
      for (let i = 0; i < 40; i++) s.sim.advance();
      await (await held).text();
    },
  };
}

const capped = (s: Stack) => s.sim.journal.filter((e) => e.scenario === 'concurrency_cap').length;
const health = async (s: Stack): Promise<AnyJson> => (await fetch(`${s.url}/health`)).json();

async function wave(s: Stack, n: number): Promise<{ ok: number; failed: unknown[] }> {
  const sdk = new Anthropic({ apiKey: 'client', baseURL: s.url, maxRetries: 0, defaultHeaders: STREAM });
  const results = await Promise.allSettled(
    Array.from({ length: n }, async () => {
      const stream = sdk.messages.stream({ ...MESSAGE });
      const m = await stream.finalMessage();
      assert.equal(m.stop_reason, 'end_turn');
    }),
  );
  return {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    failed: results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason),
  };
}

describe('default settings against an account capped at 3 in flight', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
    s.sim.setMaxInFlight(3);
  });
  after(() => s.close());

  test('two waves of 24 concurrent streams: every one succeeds, the limit is learned, wave 2 meets ≤ 2 1302s', async () => {
    const w1 = await wave(s, 24);
    assert.deepEqual(w1.failed, []);
    assert.equal(w1.ok, 24);
    const h1 = await health(s);
    assert.ok(h1.concurrency.limit <= 3, `learned limit ${h1.concurrency.limit} ≤ cap 3`);
    assert.ok(s.sim.inFlight().peak <= 3);
    const before2 = capped(s);
    const w2 = await wave(s, 24);
    assert.deepEqual(w2.failed, []);
    const in2 = capped(s) - before2;
    assert.ok(in2 <= 2, `wave 2 met ${in2} upstream 1302s`);
    assert.ok(before2 >= 1, 'wave 1 met the cap (the limit was learned from 1302s, not configured)');
    console.log(`# wave 1: ${before2} upstream 1302s, learned limit ${h1.concurrency.limit}; wave 2: ${in2}`);
    const text = await s.metricsText();
    assert.match(text, /zai_proxy_concurrency_limit\{variant="production"\} [123]\b/);
    assert.match(
      text,
      /zai_proxy_concurrency_adjustments_total\{direction="decrease",variant="production"\} \d/,
    );
  });
});

describe('a 1302 is requeued, not retried, with the defaults (quota gate on) and MAX_RETRIES=0', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { MAX_RETRIES: '0' } });
  });
  after(() => s.close());

  // The quota gate wraps admission; it once hid admission's "1302s go back in line", so every
  // 1302 took the retry policy and, with no retries left, reached the client as a 429.
  test('two 1302s then ok: the client gets the 200, Z.AI saw three attempts, no retry counted', async () => {
    s.sim.enqueue('zai_error;status=429;code=1302', 'zai_error;status=429;code=1302', 'ok');
    const r = await postJson(s, '/v1/messages', MESSAGE);
    assert.equal(r.status, 200, await r.clone().text());
    await r.text();
    assert.equal(s.sim.journal.length, 3);
    const text = await s.metricsText();
    assert.match(text, /zai_proxy_zai_errors_total\{[^}]*code="1302"[^}]*\} 2/);
    assert.doesNotMatch(text, /zai_proxy_retry_attempts_total\{reason="429"/);
  });

  test('16 concurrent streams against an account capped at 3: none sees a 1302', async () => {
    s.sim.reset();
    s.sim.setMaxInFlight(3);
    const sdk = new Anthropic({ apiKey: 'client', baseURL: s.url, maxRetries: 0, defaultHeaders: STREAM });
    for (let w = 0; w < 3; w++) {
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, () => sdk.messages.stream({ ...MESSAGE }).finalMessage()),
      );
      const failed = results.filter((x) => x.status === 'rejected').map((x) => String(x.reason));
      assert.deepEqual(failed, [], `wave ${w + 1}`);
    }
  });
});

describe('refusals', () => {
  test('a full queue answers 503 overloaded with Retry-After and x-should-retry, in both envelopes', async () => {
    const s = await startStack({ env: { CONCURRENCY_INITIAL: '1', CONCURRENCY_MAX: '1', MAX_QUEUE: '0' } });
    try {
      const held = await holdStream(s);
      const a = await postJson(s, '/v1/messages', MESSAGE);
      assert.equal(a.status, 503);
      assert.equal(a.headers.get('x-should-retry'), 'true');
      assert.ok(Number(a.headers.get('retry-after')) >= 1);
      assert.equal(((await a.json()) as AnyJson).error.type, 'overloaded_error');
      const o = await postJson(s, '/v1/chat/completions', {
        model: 'glm-4.6',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(o.status, 503);
      assert.equal(o.headers.get('x-should-retry'), 'true');
      const ob = (await o.json()) as AnyJson;
      assert.equal(ob.error.type, 'server_error');
      assert.equal(ob.error.code, 'queue_full');
      await held.release();
      const m = await s.metricsText();
      assert.match(m, /zai_proxy_admission_refusals_total\{reason="queue_full",variant="production"\} 2/);
    } finally {
      await s.close();
    }
  });

  test('beyond MAX_WORKERS: 503 overloaded at once', async () => {
    const s = await startStack({ env: { MAX_WORKERS: '1' } });
    try {
      const held = await holdStream(s);
      const r = await postJson(s, '/v1/messages', MESSAGE);
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('x-should-retry'), 'true');
      assert.ok(r.headers.get('retry-after') !== null);
      const body = (await r.json()) as AnyJson;
      assert.equal(body.error.type, 'overloaded_error');
      await held.release();
      assert.match(
        await s.metricsText(),
        /zai_proxy_admission_refusals_total\{reason="max_workers",variant="production"\} 1/,
      );
    } finally {
      await s.close();
    }
  });

  test('a spent wait answers 429 rate_limit_error with Retry-After and x-should-retry', async () => {
    const s = await startStack({
      env: { CONCURRENCY_INITIAL: '1', CONCURRENCY_MAX: '1', MAX_QUEUE_WAIT: '0.2' },
    });
    try {
      const held = await holdStream(s);
      for (const [path, body, type] of [
        ['/v1/messages', MESSAGE, 'rate_limit_error'],
        [
          '/v1/chat/completions',
          { model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] },
          'rate_limit_error',
        ],
      ] as const) {
        const r = await postJson(s, path, body);
        assert.equal(r.status, 429, path);
        assert.equal(r.headers.get('x-should-retry'), 'true');
        assert.ok(r.headers.get('retry-after') !== null);
        assert.equal(((await r.json()) as AnyJson).error.type, type);
      }
      await held.release();
    } finally {
      await s.close();
    }
  });

  test('count_tokens and /v1/models bypass the concurrency limit', async () => {
    const s = await startStack({ env: { CONCURRENCY_INITIAL: '1', CONCURRENCY_MAX: '1', MAX_QUEUE: '0' } });
    try {
      const held = await holdStream(s);
      const models = await fetch(`${s.url}/v1/models`);
      assert.equal(models.status, 200);
      const count = await postJson(s, '/v1/messages/count_tokens', MESSAGE);
      assert.equal(count.status, 200);
      await held.release();
    } finally {
      await s.close();
    }
  });

  test('with both limits off, each attempt is still one wait observation and counted in flight', async () => {
    const s = await startStack({ env: { CONCURRENCY_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' } });
    try {
      const held = await holdStream(s);
      assert.equal(sumSamples(await s.metricsText(), 'zai_proxy_upstream_inflight_attempts'), 1);
      for (let i = 0; i < 3; i++) {
        const r = await postJson(s, '/v1/messages', MESSAGE);
        assert.equal(r.status, 200);
        await r.text();
      }
      await held.release();
      await until(
        async () => sumSamples(await s.metricsText(), 'zai_proxy_upstream_inflight_attempts') === 0,
      );
      const text = await s.metricsText();
      assert.equal(sumSamples(text, 'zai_proxy_rate_limit_wait_seconds_count'), 4);
      assert.equal(sumSamples(text, 'zai_proxy_queue_wait_seconds_count'), 4);
    } finally {
      await s.close();
    }
  });
});
