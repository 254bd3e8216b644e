// The forwarding core through the official SDKs and raw sockets against the simulated Z.AI upstream.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { json, type Stack, startStack, ZAI_KEY } from './harness.ts';

const CLIENT_KEY = 'client-dummy-key';
const scenario = (s: string) => ({ headers: { 'x-sim-scenario': s } });

describe('forwarding through the SDKs', () => {
  let s: Stack;
  let ant: Anthropic;
  let oai: OpenAI;
  before(async () => {
    s = await startStack();
    ant = new Anthropic({ apiKey: CLIENT_KEY, baseURL: s.url, maxRetries: 0 });
    oai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${s.url}/v1`, maxRetries: 0 });
  });
  after(() => s.close());

  test('anthropic non-streaming message; only the Z.AI key goes upstream', async () => {
    const msg = await ant.messages.create({
      model: 'glm-4.6',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(msg.type, 'message');
    assert.ok(msg.content.length > 0);
    const j = s.sim.journal.at(-1)!;
    assert.equal(j.path, '/api/anthropic/v1/messages');
    assert.deepEqual(j.credential, { kind: 'x-api-key', value: ZAI_KEY });
    assert.equal(j.headers.authorization, undefined, 'the client Authorization never goes upstream');
    assert.ok(String(j.headers['x-request-id']).length > 0);
  });

  test('anthropic streaming message ends with the upstream usage', async () => {
    const stream = ant.messages.stream({
      model: 'glm-4.6',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const final = await stream.finalMessage();
    const reported = s.sim.journal.at(-1)!.reportedUsage!;
    assert.equal(final.usage.output_tokens, reported.output);
  });

  test('count_tokens is forwarded', async () => {
    const r = await ant.messages.countTokens({
      model: 'glm-4.6',
      messages: [{ role: 'user', content: 'count me' }],
    });
    assert.ok(r.input_tokens > 0);
    assert.equal(s.sim.journal.at(-1)!.path, '/api/anthropic/v1/messages/count_tokens');
  });

  test('openai chat, streaming chat and models; Bearer Z.AI key upstream', async () => {
    const c = await oai.chat.completions.create({
      model: 'glm-4.6',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.ok(c.choices[0]!.message.content!.length > 0);
    const j = s.sim.journal.at(-1)!;
    assert.equal(j.path, '/api/paas/v4/chat/completions');
    assert.deepEqual(j.credential, { kind: 'bearer', value: ZAI_KEY });

    const stream = await oai.chat.completions.create({
      model: 'glm-4.6',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.ok(text.length > 0);

    const models = await oai.models.list();
    assert.ok(models.data.some((m) => m.id.startsWith('glm')));
    assert.equal(s.sim.journal.at(-1)!.path, '/api/paas/v4/models');
  });

  test("clients using the original's documented base URLs reach the same routes", async () => {
    const a2 = new Anthropic({ apiKey: CLIENT_KEY, baseURL: `${s.url}/api/anthropic`, maxRetries: 0 });
    await a2.messages.create({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(s.sim.journal.at(-1)!.path, '/api/anthropic/v1/messages', 'no doubled prefix');
    const o2 = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${s.url}/api/paas/v4`, maxRetries: 0 });
    await o2.chat.completions.create({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(s.sim.journal.at(-1)!.path, '/api/paas/v4/chat/completions');
  });

  test('upstream errors surface as the SDKs typed errors with the upstream message', async () => {
    await assert.rejects(
      ant.messages.create(
        { model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
        scenario('status;code=400'),
      ),
      (e: unknown) => e instanceof Anthropic.BadRequestError && /sim: bad request/.test(e.message),
    );
    await assert.rejects(
      oai.chat.completions.create(
        { model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] },
        scenario('status;code=400'),
      ),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /sim: bad request/.test(e.message),
    );
    await assert.rejects(
      ant.messages.create(
        { model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
        scenario('status;code=500'),
      ),
      (e: unknown) => e instanceof Anthropic.InternalServerError,
    );
  });
});

describe('request handling', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { MAX_REQUEST_BYTES: '1000' } });
  });
  after(() => s.close());

  test('unknown routes are 404 in the envelope of the API family', async () => {
    const a = await fetch(`${s.url}/v1/nope`, { method: 'POST', body: '{}' });
    assert.equal(a.status, 404);
    assert.equal((await json(a)).type, 'error');
    const o = await fetch(`${s.url}/v1/chat/nope`, { method: 'POST', body: '{}' });
    assert.equal(o.status, 404);
    assert.equal(typeof (await json(o)).error.message, 'string');
  });

  test('wrong method is 405; invalid JSON is 400 and never reaches Z.AI', async () => {
    const before = s.sim.journal.length;
    const m = await fetch(`${s.url}/v1/messages`);
    assert.equal(m.status, 405);
    const bad = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: '{"model": ' });
    assert.equal(bad.status, 400);
    const body = await json(bad);
    assert.equal(body.error.type, 'invalid_request_error');
    const arr = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: '[1,2]' });
    assert.equal(arr.status, 400);
    assert.equal((await json(arr)).error.code, 'invalid_json');
    assert.equal(s.sim.journal.length, before);
  });

  test('bodies over MAX_REQUEST_BYTES are 413, declared or streamed', async () => {
    const big = JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
    const r = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: big });
    assert.equal(r.status, 413);
    assert.equal((await json(r)).error.type, 'request_too_large');
    const chunked = await rawPost(s.url, '/v1/chat/completions', [big.slice(0, 800), big.slice(800)]);
    assert.equal(chunked.status, 413);
  });

  test('request id is kept or generated and echoed; hop-by-hop and cookies dropped', async () => {
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-request-id': 'req-abc-123',
        cookie: 'session=secret',
        'x-api-key': 'whatever',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-request-id'), 'req-abc-123');
    const j = s.sim.journal.at(-1)!;
    assert.equal(j.headers['x-request-id'], 'req-abc-123');
    assert.equal(j.headers.cookie, undefined);
    assert.equal(j.headers['anthropic-version'], '2023-06-01');
    const gen = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [] }),
    });
    assert.match(gen.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('health, liveness, readiness and metrics endpoints', async () => {
    const h = await json(await fetch(`${s.url}/health`));
    assert.equal(h.status, 'ok');
    assert.deepEqual(Object.keys(h).slice(0, 4), ['concurrency', 'quota', 'rate_limit', 'status']);
    // The original's section with polling off, plus the gate's state.
    assert.deepEqual(h.quota, {
      enabled: false,
      fresh: false,
      gate: { enabled: true, enforcement: false, open: true, closed_accounts: 0, closed: [] },
    });
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    const text = await s.metricsText();
    for (const name of [
      'zai_proxy_requests_total',
      'zai_proxy_request_duration_seconds_bucket',
      'zai_proxy_request_size_bytes_bucket',
      'zai_proxy_response_size_bytes_bucket',
      'zai_proxy_concurrent_requests',
      'zai_proxy_build_info',
      'zai_proxy_overhead_seconds_bucket',
    ]) {
      assert.ok(text.includes(name), `${name} exported`);
    }
    assert.match(
      text,
      /zai_proxy_requests_total\{method="POST",path="\/v1\/messages",status_code="200",variant="production"\}/,
    );
    assert.ok(!/path="\/v1\/nope"/.test(text), 'unmatched paths do not become label values');
  });
});

describe('auth', () => {
  test('PROXY_API_KEYS: a client must present one of them, by either header', async () => {
    const s = await startStack({ env: { PROXY_API_KEYS: 'team-a-key, team-b-key' } });
    try {
      const body = JSON.stringify({
        model: 'glm-4.6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      });
      const none = await fetch(`${s.url}/v1/messages`, { method: 'POST', body });
      assert.equal(none.status, 401);
      assert.equal((await json(none)).error.type, 'authentication_error');
      const wrong = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        body,
        headers: { authorization: 'Bearer nope' },
      });
      assert.equal(wrong.status, 401);
      assert.equal((await json(wrong)).error.type, 'authentication_error');
      const ant = new Anthropic({ apiKey: 'team-b-key', baseURL: s.url, maxRetries: 0 });
      await ant.messages.create({
        model: 'glm-4.6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.deepEqual(s.sim.journal.at(-1)!.credential, { kind: 'x-api-key', value: ZAI_KEY });
      const ok2 = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        body,
        headers: { 'x-api-key': 'team-a-key' },
      });
      assert.equal(ok2.status, 200);
    } finally {
      await s.close();
    }
  });

  test("without ZAI_API_KEY the client's own key is forwarded (pass-through mode)", async () => {
    const s = await startStack({ env: { ZAI_API_KEY: '' }, simApiKey: null });
    try {
      const oai = new OpenAI({ apiKey: 'users-own-zai-key', baseURL: `${s.url}/v1`, maxRetries: 0 });
      await oai.chat.completions.create({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] });
      assert.deepEqual(s.sim.journal.at(-1)!.credential, { kind: 'bearer', value: 'users-own-zai-key' });
      const ant = new Anthropic({ apiKey: 'users-own-zai-key', baseURL: s.url, maxRetries: 0 });
      await ant.messages.create({
        model: 'glm-4.6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.deepEqual(s.sim.journal.at(-1)!.credential, { kind: 'x-api-key', value: 'users-own-zai-key' });
    } finally {
      await s.close();
    }
  });
});

/** POSTs a body in explicit pieces (chunked transfer) and returns status and body. */
export function rawPost(
  base: string,
  path: string,
  pieces: string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}
