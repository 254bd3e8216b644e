// The admission seam through the proxy: every attempt asks for a permit with a narrow request that
// names the client, releases it with an outcome and a latency on every path, and a refusal that is
// not the client leaving becomes the client's answer in its API's envelope.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { until } from '@zai-proxy/testkit';
import {
  type Admission,
  type AdmissionRequest,
  openAdmission,
  type PermitOutcome,
} from '../src/admission/index.ts';
import { type ErrorCode, GatewayError } from '../src/errors.ts';
import { json, type Stack, startStack, ZAI_KEY } from './harness.ts';

const ANT = JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
const OAI = JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] });

interface Grant {
  request: AdmissionRequest;
  outcome?: PermitOutcome;
  latencyMs?: number;
  releases: number;
}

/** An admission that grants at once (or refuses with `refuse`) and records every permit's fate. */
function recording(refuse: (r: AdmissionRequest) => GatewayError | null = () => null) {
  const grants: Grant[] = [];
  const admission: Admission = {
    acquire(request) {
      const e = refuse(request);
      if (e !== null) return Promise.reject(e);
      const g: Grant = { request, releases: 0 };
      grants.push(g);
      return Promise.resolve({
        release(outcome, latencyMs) {
          g.releases++;
          g.outcome = outcome;
          g.latencyMs = latencyMs;
        },
      });
    },
    health: openAdmission.health,
  };
  return { admission, grants };
}

/** Every permit released exactly once, with a finite non-negative latency; returns the outcomes. */
function released(grants: Grant[]): PermitOutcome[] {
  for (const g of grants) {
    assert.equal(g.releases, 1, 'released exactly once');
    assert.ok(Number.isFinite(g.latencyMs) && g.latencyMs! >= 0, `latency ${g.latencyMs}`);
  }
  return grants.map((g) => g.outcome!);
}

const post = (s: Stack, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, { method: 'POST', body, headers });

describe('admission permits', () => {
  let s: Stack;
  let rec: ReturnType<typeof recording>;
  before(async () => {
    rec = recording();
    s = await startStack({ env: { MAX_RETRIES: '2' }, admission: rec.admission });
  });
  afterEach(() => {
    rec.grants.length = 0;
    s.sim.reset();
  });
  after(() => s.close());

  test('each attempt, retries included, asks with a narrow request and releases with its outcome', async () => {
    s.sim.enqueue('zai_error;status=429;code=1302', 'status;code=529', 'ok');
    const r = await post(s, '/v1/messages', ANT);
    assert.equal(r.status, 200);
    await r.text();
    assert.deepEqual(
      rec.grants.map((g) => g.request),
      [0, 1, 2].map((attempt) => ({
        client: { kind: 'peer', name: '127.0.0.1' },
        api: 'anthropic',
        route: 'messages',
        model: 'glm-4.6',
        stream: false,
        attempt,
      })),
    );
    assert.deepEqual(released(rec.grants), [
      { type: 'throttled', zaiClass: 'concurrency' },
      { type: 'throttled', zaiClass: 'overloaded' },
      { type: 'ok' },
    ]);
  });

  test('failures: a connection reset and a 5xx are failed, a 400 is an answer', async () => {
    s.sim.enqueue('reset_before_headers', 'status;code=500');
    assert.equal((await post(s, '/v1/messages', ANT)).status, 500);
    s.sim.enqueue('status;code=400');
    const r = await post(s, '/v1/chat/completions', OAI);
    assert.equal(r.status, 400);
    assert.deepEqual(released(rec.grants), [{ type: 'failed' }, { type: 'failed' }, { type: 'ok' }]);
    assert.equal(rec.grants[2]!.request.api, 'openai');
  });

  test('count_tokens answered locally after Z.AI lacks it: the attempt was an answer', async () => {
    s.sim.enqueue('count_tokens_unsupported');
    const r = await post(s, '/v1/messages/count_tokens', ANT);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-token-source'), 'estimate');
    assert.deepEqual(released(rec.grants), [{ type: 'ok' }]);
    assert.equal(rec.grants[0]!.request.route, 'count_tokens');
  });

  test('a client that leaves mid-stream: cancelled', async () => {
    const ctl = new AbortController();
    const body = JSON.stringify({ ...JSON.parse(ANT), stream: true });
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      body,
      headers: { 'x-sim-scenario': 'ok;events=5;gate=1' },
      signal: ctl.signal,
    });
    const reader = r.body!.getReader();
    await reader.read(); // the first event is through; the rest waits upstream
    ctl.abort();
    await until(() => rec.grants[0]?.outcome !== undefined);
    assert.deepEqual(released(rec.grants), [{ type: 'cancelled' }]);
    assert.equal(rec.grants[0]!.request.stream, true);
  });
});

describe('admission refusals', () => {
  const CODES: [ErrorCode, string, string, number][] = [
    ['PROXY_OVERLOADED', 'overloaded_error', 'server_error', 503],
    ['QUEUE_FULL', 'overloaded_error', 'server_error', 503],
    ['QUEUE_TIMEOUT', 'rate_limit_error', 'rate_limit_error', 429],
    ['QUOTA_EXHAUSTED', 'rate_limit_error', 'insufficient_quota', 429],
    ['BUDGET_EXCEEDED', 'rate_limit_error', 'insufficient_quota', 429],
  ];
  let s: Stack;
  let refusal: GatewayError | null = null;
  let rec: ReturnType<typeof recording>;
  before(async () => {
    rec = recording((r) => (r.attempt >= refuseFrom ? refusal : null));
    s = await startStack({ env: { MAX_RETRIES: '2' }, admission: rec.admission });
  });
  let refuseFrom = 0;
  afterEach(() => {
    rec.grants.length = 0;
    s.sim.reset();
    refuseFrom = 0;
  });
  after(() => s.close());

  for (const [code, antType, oaiType, status] of CODES) {
    test(`${code}: both envelopes, Retry-After, nothing sent upstream`, async () => {
      refusal = new GatewayError(code, undefined, 7);
      const a = await post(s, '/v1/messages', ANT, { 'x-request-id': 'adm-1' });
      assert.equal(a.status, status);
      // A busy proxy's refusals tell the SDKs to retry; a spent quota says not to.
      assert.equal(
        a.headers.get('x-should-retry'),
        status === 503 || code === 'QUEUE_TIMEOUT' ? 'true' : code === 'QUOTA_EXHAUSTED' ? 'false' : null,
      );
      assert.equal(a.headers.get('retry-after'), '7');
      assert.equal(a.headers.get('x-request-id'), 'adm-1');
      assert.deepEqual(await json(a), { type: 'error', error: { type: antType, message: refusal.message } });
      const o = await post(s, '/v1/chat/completions', OAI);
      assert.equal(o.status, status);
      assert.equal(o.headers.get('retry-after'), '7');
      assert.deepEqual(await json(o), {
        error: { message: refusal.message, type: oaiType, param: null, code: code.toLowerCase() },
      });
      assert.equal(s.sim.journal.length, 0);
      assert.equal(rec.grants.length, 0);
    });
  }

  test('a refusal on a retry answers with the refusal, the first permit released throttled', async () => {
    refusal = new GatewayError('QUEUE_TIMEOUT');
    refuseFrom = 1;
    s.sim.enqueue('zai_error;status=429;code=1302', 'ok');
    const r = await post(s, '/v1/messages', ANT);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), null, 'no Retry-After when the refusal knows none');
    assert.equal((await json(r)).error.message, 'request waited too long in the proxy queue');
    assert.equal(s.sim.journal.length, 1);
    assert.deepEqual(released(rec.grants), [{ type: 'throttled', zaiClass: 'concurrency' }]);
  });

  test('an admission that fails with anything else is an INTERNAL error, logged', async () => {
    const broken: Admission = {
      acquire: () => Promise.reject(new Error('bug')),
      health: openAdmission.health,
    };
    const b = await startStack({ admission: broken });
    try {
      const r = await post(b, '/v1/messages', ANT);
      assert.equal(r.status, 500);
      assert.equal((await json(r)).error.type, 'api_error');
      assert.ok(b.logs.some((l) => l.includes('Request failed inside the proxy')));
    } finally {
      await b.close();
    }
  });
});

describe('a client that leaves while queued', () => {
  test('cancels the wait (its signal aborts) and never reaches Z.AI', async () => {
    let waiting: AbortSignal | null = null;
    const admission: Admission = {
      acquire: (_r, signal) =>
        new Promise((_resolve, reject) => {
          waiting = signal;
          signal.addEventListener('abort', () => reject(new Error('left')), { once: true });
        }),
      health: openAdmission.health,
    };
    const s = await startStack({ admission });
    try {
      const ctl = new AbortController();
      const p = fetch(`${s.url}/v1/messages`, { method: 'POST', body: ANT, signal: ctl.signal });
      await until(() => waiting !== null);
      ctl.abort();
      await assert.rejects(p);
      await until(() => waiting!.aborted);
      await until(() => s.proxy.inflight() === 0);
      assert.equal(s.sim.journal.length, 0);
    } finally {
      await s.close();
    }
  });

  test('a permit granted after the client left is released cancelled, nothing sent', async () => {
    let grant: (() => void) | null = null;
    const rec = recording();
    const admission: Admission = {
      acquire: (r, signal) =>
        new Promise((resolve) => {
          grant = () => resolve(rec.admission.acquire(r, signal));
        }),
      health: openAdmission.health,
    };
    const s = await startStack({ admission });
    try {
      const ctl = new AbortController();
      const p = fetch(`${s.url}/v1/messages`, { method: 'POST', body: ANT, signal: ctl.signal });
      await until(() => grant !== null);
      ctl.abort();
      await assert.rejects(p);
      await until(() => s.proxy.inflight() === 0);
      grant!();
      await until(() => rec.grants[0]?.outcome !== undefined);
      assert.deepEqual(released(rec.grants), [{ type: 'cancelled' }]);
      assert.equal(s.sim.journal.length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('client identity', () => {
  const identityOf = async (env: Record<string, string>, headers: Record<string, string>, simKey?: null) => {
    const rec = recording();
    const s = await startStack({
      env,
      admission: rec.admission,
      ...(simKey === null ? { simApiKey: null } : {}),
    });
    try {
      const r = await post(s, '/v1/messages', ANT, headers);
      await r.text();
      return { status: r.status, client: rec.grants[0]?.request.client, logs: s.logs.join('\n') };
    } finally {
      await s.close();
    }
  };

  test('PROXY_API_KEYS entries are named by `name:` or by position', async () => {
    const env = { PROXY_API_KEYS: 'alice:k-alice,k-second' };
    assert.deepEqual((await identityOf(env, { 'x-api-key': 'k-alice' })).client, {
      kind: 'key',
      name: 'alice',
    });
    assert.deepEqual((await identityOf(env, { authorization: 'Bearer k-second' })).client, {
      kind: 'key',
      name: 'key-2',
    });
    const bad = await identityOf(env, { 'x-api-key': 'alice:k-alice' });
    assert.equal(bad.status, 401, 'the name is not part of the key');
  });

  test("pass-through: a digest of the client's key, never the key", async () => {
    const key = 'client-own-zai-key-0001';
    const r = await identityOf({ ZAI_API_KEY: '' }, { 'x-api-key': key }, null);
    assert.equal(r.status, 200);
    assert.equal(r.client?.kind, 'passthrough');
    assert.match(r.client!.name, /^sha256:[0-9a-f]{16}$/);
    assert.ok(!r.client!.name.includes(key));
    const again = await identityOf({ ZAI_API_KEY: '' }, { authorization: `Bearer ${key}` }, null);
    assert.deepEqual(again.client, r.client, 'the same key is the same client, by either header');
  });

  test("the proxy's own key and no client keys: the peer address", async () => {
    const r = await identityOf({}, { 'x-api-key': ZAI_KEY });
    assert.deepEqual(r.client, { kind: 'peer', name: '127.0.0.1' });
  });
});
