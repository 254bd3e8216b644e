// The retry engine through the proxy against the simulated upstream: the Go proxy's retry contract
// with its defects fixed (no stacked waits, a cap, HTTP-date Retry-After, cancel on disconnect).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { sumSamples } from '@zai-proxy/prom-text';
import { sha256 as sha } from '@zai-proxy/testkit';
import OpenAI from 'openai';
import type { Clock } from '../src/clock.ts';
import { REAL_BODIES } from '../src/upstream/fixtures/zai-bodies.ts';
import type { UpstreamSignal } from '../src/upstream/signals.ts';
import { fakeClock, json, type Stack, startStack } from './harness.ts';

const ANT = JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
const ANT_STREAM = JSON.stringify({
  model: 'glm-4.6',
  max_tokens: 8,
  stream: true,
  messages: [{ role: 'user', content: 'x' }],
});
const post = (s: Stack, body = ANT, path = '/v1/messages', headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, { method: 'POST', body, headers });
const realBody = (name: string) => REAL_BODIES.find((b) => b.name === name)!.body;

describe('retry engine', () => {
  let s: Stack;
  let timers: ReturnType<typeof fakeClock>;
  const signals: UpstreamSignal[] = [];
  // The retry policy on its own: with the concurrency limit on, a 1302 is requeued by admission
  // instead (test/admission-limits.test.ts), and the quota gate would refuse what follows a quota
  // answer (its own tests are in quota-gate.test.ts).
  const env = { MAX_RETRIES: '2', CONCURRENCY_ENABLED: 'false', QUOTA_GATE_ENABLED: 'false' };
  const restart = async (e: Record<string, string> = env) => {
    await s?.close();
    timers = fakeClock();
    signals.length = 0;
    s = await startStack({
      env: { CONCURRENCY_ENABLED: 'false', QUOTA_GATE_ENABLED: 'false', ...e },
      clock: timers,
      signals: (x) => void signals.push(x),
    });
  };
  before(() => restart());
  afterEach(() => {
    s.sim.reset();
    timers.waits.length = 0;
    signals.length = 0;
  });
  after(() => s.close());

  /** Runs fn against a proxy started with `e`, then restores the default stack even if fn fails. */
  const withEnv = async (e: Record<string, string>, fn: () => Promise<void>) => {
    await restart(e);
    try {
      await fn();
    } finally {
      await restart();
    }
  };
  const m = async (name: string, labels: Record<string, string>) =>
    sumSamples(await s.metricsText(), name, labels);

  test('429 with an empty body and Retry-After: 3, then success: one wait of 3 s (never stacked with backoff)', async () => {
    await withEnv({ MAX_RETRIES: '1' }, async () => {
      s.sim.enqueue({ name: 'status', status: 429, body: '', headers: [['Retry-After', '3']] }, 'ok');
      const r = await post(s);
      assert.equal(r.status, 200);
      assert.equal(s.sim.journal.length, 2);
      assert.deepEqual(timers.waits, [3000]);
      assert.equal(await m('zai_proxy_retry_attempts_total', { reason: '429' }), 1);
      assert.equal(await m('zai_proxy_retry_attempts_total', { reason: 'retry' }), 1);
      assert.equal(await m('zai_proxy_upstream_errors_total', { error_type: '429' }), 1);
    });
  });

  test('429 three times without hints, MAX_RETRIES=2: waits 1 s, 2 s, then the 429 with class unknown', async () => {
    for (let i = 0; i < 3; i++) s.sim.enqueue({ name: 'status', status: 429, body: '' });
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-zai-error-class'), 'unknown');
    assert.equal(s.sim.journal.length, 3);
    assert.deepEqual(timers.waits, [1000, 2000]);
    assert.equal(await m('zai_proxy_retry_attempts_total', { reason: '429' }), 2);
    assert.equal(await m('zai_proxy_upstream_errors_total', { error_type: '429' }), 3);
  });

  for (const [code, cls, fed] of [
    ['1303', 'frequency', 3],
    // 1305 is Z.AI overloaded, not this account sending too fast: jittered, the rate limiter not fed.
    ['1305', 'overloaded', 0],
  ] as const) {
    test(`${cls} ${code}: jittered waits, class and code headers, body verbatim, rate limiter fed ${fed}×`, async () => {
      for (let i = 0; i < 3; i++) s.sim.enqueue(`zai_error;status=429;code=${code};envelope=flat`);
      const r = await post(s);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 429);
      assert.deepEqual(timers.waits, [500, 1000]);
      assert.equal(r.headers.get('x-zai-error-class'), cls);
      assert.equal(r.headers.get('x-zai-error-code'), code);
      assert.equal(sha(body), s.sim.journal.at(-1)!.responseSha256);
      assert.equal(signals.filter((x) => x.type === 'zai_error' && x.feedRateLimiter).length, fed);
    });
  }

  test('concurrency 1302: waits 1 s, 2 s without jitter; published as concurrency, not to the rate limiter', async () => {
    for (let i = 0; i < 3; i++) s.sim.enqueue('zai_error;status=429;code=1302;envelope=nested');
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.deepEqual(timers.waits, [1000, 2000]);
    assert.ok(
      signals.every((x) => x.type === 'zai_error' && x.class === 'concurrency' && !x.feedRateLimiter),
    );
    assert.equal(await m('zai_proxy_zai_errors_total', { class: 'concurrency', code: '1302' }), 3);
  });

  test('model congestion 1312: jittered waits within [plain/2, plain]', async () => {
    for (let i = 0; i < 3; i++) s.sim.enqueue('zai_error;status=429;code=1312;envelope=anthropic');
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.deepEqual(timers.waits, [500, 1000]);
  });

  test('fair use 1313: one attempt, Retry-After of the fair-use back-off, an error-level log line', async () => {
    s.sim.enqueue({
      name: 'status',
      status: 429,
      body: realBody('flat bigmodel envelope with a numeric code'),
    });
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(s.sim.journal.length, 1);
    assert.equal(r.headers.get('x-zai-error-class'), 'fair_use');
    assert.equal(r.headers.get('retry-after'), '600');
    const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.class === 'fair_use');
    assert.equal(line?.level, 50); // pino's error
    assert.equal(line?.msg, 'Z.AI refuses this account until a person acts: fair_use (code 1313)');
    assert.equal(await m('zai_proxy_zai_errors_total', { class: 'fair_use', code: '1313' }), 1);
  });

  test('bracketed [1310] on the Anthropic surface: quota, reset from the message, upstream retry-after-ms kept', async () => {
    const real = REAL_BODIES.find((b) => b.name.startsWith('bracketed [1310]'))!;
    s.sim.enqueue({
      name: 'status',
      status: 429,
      body: real.body,
      headers: [['retry-after-ms', '504641000']],
    });
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(s.sim.journal.length, 1);
    assert.equal(r.headers.get('x-zai-error-class'), 'quota');
    assert.equal(r.headers.get('x-zai-error-code'), '1310');
    assert.equal(r.headers.get('x-zai-rate-limit-reset'), '2026-07-13T23:49:08Z');
    assert.equal(r.headers.get('retry-after-ms'), '504641000');
  });

  test('quota 1308 with reset_time an hour ahead: one attempt, derived Retry-After and reset header', async () => {
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+3600');
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(s.sim.journal.length, 1);
    assert.deepEqual(timers.waits, []);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 3500 && ra <= 3600, `retry-after ${ra}`);
    assert.match(r.headers.get('x-zai-rate-limit-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const sig = signals[0]!;
    assert.ok(sig.type === 'zai_error' && sig.class === 'quota' && sig.resetAtMs !== null);
  });

  test('quota 1310 with the reset only in the message text (UTC+8)', async () => {
    s.sim.enqueue(
      'zai_error;status=429;code=1310;msg=Weekly limit reached. Your limit will reset at 2099-01-02 08:00:00',
    );
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-zai-rate-limit-reset'), '2099-01-02T00:00:00Z');
    assert.ok(Number(r.headers.get('retry-after')) > 0);
  });

  test('quota with an upstream Retry-After keeps it', async () => {
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+3600;retry_after_header=5');
    const r = await post(s);
    assert.equal(r.headers.get('retry-after'), '5');
  });

  test('unknown code 9999: retried as unknown, code header kept', async () => {
    for (let i = 0; i < 3; i++) s.sim.enqueue('zai_error;status=429;code=9999');
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.deepEqual(timers.waits, [1000, 2000]);
    assert.equal(r.headers.get('x-zai-error-code'), '9999');
    assert.equal(await m('zai_proxy_zai_errors_total', { class: 'unknown', code: 'other' }), 3);
  });

  test('1303 with Retry-After 7 and body retry_after 9, MAX_RETRIES=1: one wait of 9 s; final keeps 7', async () => {
    await withEnv({ MAX_RETRIES: '1' }, async () => {
      const sc = 'zai_error;status=429;code=1303;retry_after_header=7;retry_after_body=9';
      s.sim.enqueue(sc, sc);
      const r = await post(s);
      assert.deepEqual(timers.waits, [9000]);
      assert.equal(r.headers.get('retry-after'), '7');
    });
  });

  test('Retry-After as an HTTP-date is honoured', async () => {
    s.sim.enqueue('zai_error;status=429;code=1302;retry_after_header=6;retry_after_http_date=1', 'ok');
    const r = await post(s);
    assert.equal(r.status, 200);
    assert.equal(timers.waits.length, 1);
    assert.ok(timers.waits[0]! >= 4000 && timers.waits[0]! <= 7000, `wait ${timers.waits[0]}`);
  });

  test('a wait beyond MAX_RETRY_WAIT is not waited: the 429 goes back at once with Retry-After', async () => {
    s.sim.enqueue('zai_error;status=429;code=1302;retry_after_header=3600', 'ok');
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '3600');
    assert.equal(s.sim.journal.length, 1);
    assert.deepEqual(timers.waits, []);
  });

  test('oversized 429 body: unknown, retried, replayed body exactly 32768 bytes', async () => {
    const big = JSON.stringify({ error: { message: 'x'.repeat(40_000), code: '1308' } });
    for (let i = 0; i < 3; i++) s.sim.enqueue({ name: 'status', status: 429, body: big });
    const r = await post(s);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-zai-error-class'), 'unknown');
    assert.equal(s.sim.journal.length, 3);
    assert.equal(body.length, 32768);
  });

  for (const code of [400, 422, 500, 503]) {
    test(`${code} passes through once with body and custom headers`, async () => {
      s.sim.enqueue(`status;code=${code};header=X-Upstream-Error:custom`);
      const r = await post(s);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, code);
      assert.equal(r.headers.get('x-upstream-error'), 'custom');
      assert.equal(sha(body), s.sim.journal[0]!.responseSha256);
      assert.equal(s.sim.journal.length, 1);
      assert.equal(await m('zai_proxy_upstream_errors_total', { error_type: String(code) }), 1);
    });
  }

  test('529 overloaded without a business code: retried with jitter (reason overloaded), then success', async () => {
    s.sim.enqueue(
      {
        name: 'status',
        status: 529,
        body: '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}',
      },
      'ok',
    );
    const before = await m('zai_proxy_retry_attempts_total', { reason: 'overloaded' });
    const r = await post(s);
    assert.equal(r.status, 200);
    assert.deepEqual(timers.waits, [500]);
    assert.equal((await m('zai_proxy_retry_attempts_total', { reason: 'overloaded' })) - before, 1);
    assert.ok(signals.some((x) => x.type === 'zai_error' && x.class === 'overloaded' && !x.feedRateLimiter));
  });

  test('auth and billing errors are never retried', async () => {
    s.sim.enqueue('zai_error;status=401;code=1113', 'ok');
    const r = await post(s);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-zai-error-class'), 'billing');
    assert.equal(s.sim.journal.length, 1);
  });

  for (const [sc, errType, path, body] of [
    ['empty', 'truncated_response', '/v1/messages', ANT],
    ['invalid_json', 'truncated_response', '/v1/messages', ANT],
    ['empty_stream', 'empty_streaming', '/v1/messages', ANT_STREAM],
  ] as const) {
    test(`${sc} 2xx: retried MAX_RETRIES times, then 502 in the API envelope`, async () => {
      const errors0 = await m('zai_proxy_upstream_errors_total', { error_type: errType });
      const retries0 = await m('zai_proxy_retry_attempts_total', { reason: errType });
      for (let i = 0; i < 3; i++) s.sim.enqueue(sc);
      const r = await post(s, body, path);
      assert.equal(r.status, 502);
      assert.equal((await json(r)).type, 'error');
      assert.equal(s.sim.journal.length, 3);
      assert.equal((await m('zai_proxy_upstream_errors_total', { error_type: errType })) - errors0, 3);
      assert.equal((await m('zai_proxy_retry_attempts_total', { reason: errType })) - retries0, 2);
    });
  }

  test('a 2xx JSON body cut off mid-way is a truncated response (Z.AI answered), not a connection failure', async () => {
    const before = await m('zai_proxy_upstream_errors_total', { error_type: 'truncated_response' });
    s.sim.enqueue('reset_mid_stream', 'ok');
    const r = await post(s);
    assert.equal(r.status, 200);
    assert.equal(s.sim.journal.length, 2);
    assert.equal(
      (await m('zai_proxy_upstream_errors_total', { error_type: 'truncated_response' })) - before,
      1,
    );
  });
  test('a body compressed despite accept-encoding: identity passes through untouched, unvalidated', async () => {
    s.sim.enqueue({
      name: 'status',
      status: 200,
      body: 'not json, pretend gzip',
      headers: [['Content-Encoding', 'gzip']],
    });
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      body: ANT,
      headers: { 'accept-encoding': 'identity' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.equal(s.sim.journal.length, 1);
  });

  test('2xx validation applies only to JSON routes: an empty models answer passes through', async () => {
    s.sim.enqueue('empty');
    const r = await fetch(`${s.url}/v1/models`);
    assert.equal(r.status, 200);
    assert.equal(s.sim.journal.length, 1);
  });

  test('connection reset before headers: waits 1 s, 2 s, then 502 with upstream_connection counted', async () => {
    for (let i = 0; i < 3; i++) s.sim.enqueue('reset_before_headers');
    const r = await post(s, ANT, '/v1/chat/completions');
    assert.equal(r.status, 502);
    assert.equal((await json(r)).error.code, 'upstream_unreachable');
    assert.deepEqual(timers.waits, [1000, 2000]);
    assert.equal(await m('zai_proxy_upstream_errors_total', { error_type: 'upstream_connection' }), 3);
    assert.equal(await m('zai_proxy_retry_attempts_total', { reason: 'network_error' }), 2);
  });

  test('no retry once a response byte has reached the client', async () => {
    await withEnv({ MAX_RETRIES: '2', UPSTREAM_IDLE_TIMEOUT: '200ms' }, async () => {
      s.sim.enqueue('stall;after=1', 'ok');
      const r = await post(s, ANT_STREAM);
      await assert.rejects(r.text());
      assert.equal(s.sim.journal.length, 1);
    });
  });
});

describe('retry waits are cancelled when the client leaves', () => {
  test('no further upstream attempt after the client disconnects during a Retry-After wait', async () => {
    let waiting: (() => void) | null = null;
    const timers: Clock = {
      now: () => Date.now(),
      random: () => 0,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          waiting?.();
        }),
    };
    const s = await startStack({ clock: timers, env: { CONCURRENCY_ENABLED: 'false' } });
    try {
      s.sim.enqueue('zai_error;status=429;code=1302;retry_after_header=60', 'ok');
      const inWait = new Promise<void>((r) => {
        waiting = r;
      });
      const ctl = new AbortController();
      const p = fetch(`${s.url}/v1/messages`, { method: 'POST', body: ANT, signal: ctl.signal });
      await inWait;
      ctl.abort();
      await assert.rejects(p);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(s.sim.journal.length, 1, 'no attempt after the client left');
      assert.ok(s.logs.some((l) => l.includes('Client abandoned request during retry wait')));
    } finally {
      await s.close();
    }
  });
});

describe('what the SDKs see', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { QUOTA_GATE_ENABLED: 'false' } });
  });
  after(() => s.close());

  test('a 1302 then success is a success', async () => {
    const ant = new Anthropic({ apiKey: 'x', baseURL: s.url, maxRetries: 0 });
    s.sim.enqueue('zai_error;status=429;code=1302', 'ok');
    const msg = await ant.messages.create({
      model: 'glm-4.6',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(msg.type, 'message');
  });

  test('a 1308 is a RateLimitError with retry-after', async () => {
    const ant = new Anthropic({ apiKey: 'x', baseURL: s.url, maxRetries: 0 });
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+600');
    await assert.rejects(
      ant.messages.create({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.RateLimitError && Number(e.headers?.get('retry-after')) > 0,
    );
    const oai = new OpenAI({ apiKey: 'x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+600');
    await assert.rejects(
      oai.chat.completions.create({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.RateLimitError && Number(e.headers?.get('retry-after')) > 0,
    );
  });

  test('a 400 is a BadRequestError with the upstream message', async () => {
    const oai = new OpenAI({ apiKey: 'x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    s.sim.enqueue('status;code=400');
    await assert.rejects(
      oai.chat.completions.create({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /sim: bad request/.test(e.message),
    );
  });
});
