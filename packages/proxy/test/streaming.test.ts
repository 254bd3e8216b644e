// Stream pass-through: byte-exact, never held back, broken when upstream breaks, cancelled when the client leaves.
import assert from 'node:assert/strict';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import { sha256 as sha } from '@zai-proxy/testkit';
import OpenAI from 'openai';
import { json, type Stack, startStack, ZAI_KEY } from './harness.ts';

const anthropicBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: 'glm-4.6',
    max_tokens: 64,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

interface Opened {
  req: ClientRequest;
  res: IncomingMessage;
}

/** Opens a streaming POST and resolves once response headers arrive. */
function open(
  base: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => resolve({ req, res }),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a response to its end; `broken` is true if the connection died before a clean end. */
function drain(res: IncomingMessage): Promise<{ bytes: Buffer; broken: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (broken: boolean) => {
      if (done) return;
      done = true;
      resolve({ bytes: Buffer.concat(chunks), broken });
    };
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => finish(!res.complete));
    res.on('aborted', () => finish(true));
    res.on('error', () => finish(true));
    res.on('close', () => finish(!res.complete));
  });
}

describe('streaming', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { UPSTREAM_IDLE_TIMEOUT: '300ms', UPSTREAM_HEADERS_TIMEOUT: '300ms' } });
  });
  after(() => s.close());

  for (const [name, path, body, sc] of [
    ['anthropic SSE', '/v1/messages', anthropicBody(), 'ok;events=40;crlf=1'],
    ['anthropic SSE in 1-byte writes', '/v1/messages', anthropicBody(), 'ok;events=8;chunk=1'],
    [
      'openai SSE',
      '/v1/chat/completions',
      JSON.stringify({
        model: 'glm-4.6',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'x' }],
      }),
      'ok;events=30',
    ],
  ] as const) {
    test(`${name}: the client receives exactly the bytes upstream sent`, async () => {
      const { res } = await open(s.url, path, body, { 'x-sim-scenario': sc });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-accel-buffering'], 'no');
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      const { bytes, broken } = await drain(res);
      assert.equal(broken, false);
      const j = s.sim.journal.at(-1)!;
      await s.sim.waitFor(() => j.responseSha256 !== '');
      assert.equal(bytes.length, j.responseBytes);
      assert.equal(sha(bytes), j.responseSha256);
    });
  }

  test('events are not held back: each arrives before upstream sends the next', async () => {
    const { res } = await open(s.url, '/v1/messages', anthropicBody(), {
      'x-sim-scenario': 'ok;events=5;gate=1',
    });
    let text = '';
    let released = 0;
    const received: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('an event was held back by the proxy')), 5000);
      res.on('data', (c: Buffer) => {
        text += c.toString();
        const events = text.split('\n\n').length - 1;
        received.push(events);
        // Upstream sends event k+1 only after we saw event k through the proxy.
        while (released < events) {
          released++;
          s.sim.advance();
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    assert.ok(released >= 8, `every gated event came through (${released})`);
  });

  test('a client disconnect closes the upstream request at once', async () => {
    const { req, res } = await open(s.url, '/v1/messages', anthropicBody(), {
      'x-sim-scenario': 'ok;events=5;gate=1',
    });
    await new Promise((r) => res.once('data', r));
    const j = s.sim.journal.at(-1)!;
    req.destroy();
    await s.sim.waitFor(() => j.aborted, 2000);
    assert.equal(j.aborted, true);
    await waitUntil(async () => sumSamples(await s.metricsText(), 'zai_proxy_client_aborts_total') >= 1);
  });

  test('a client disconnect while waiting for non-streaming headers aborts upstream too', async () => {
    const body = JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    });
    const s2 = await startStack();
    try {
      const ctl = new AbortController();
      const p = fetch(`${s2.url}/v1/messages`, {
        method: 'POST',
        body,
        signal: ctl.signal,
        headers: { 'x-sim-scenario': 'slow_headers;delay=3000' },
      });
      await s2.sim.waitFor((j) => j.length === 1);
      ctl.abort();
      await assert.rejects(p);
      await s2.sim.waitFor((j) => j[0]!.aborted, 2000);
    } finally {
      await s2.close();
    }
  });

  test('upstream breaking mid-stream breaks the client connection, never a clean end', async () => {
    const aborts0 = sumSamples(await s.metricsText(), 'zai_proxy_client_aborts_total');
    const { res } = await open(s.url, '/v1/messages', anthropicBody(), {
      'x-sim-scenario': 'reset_mid_stream;after=3',
    });
    const { bytes, broken } = await drain(res);
    assert.equal(broken, true);
    assert.ok(bytes.length > 0, 'the events before the break were delivered');
    await waitUntil(
      async () =>
        sumSamples(await s.metricsText(), 'zai_proxy_upstream_errors_total', { error_type: 'read_error' }) >=
        1,
    );
    assert.equal(
      sumSamples(await s.metricsText(), 'zai_proxy_client_aborts_total'),
      aborts0,
      'the proxy broke it, not the client',
    );
    assert.ok(s.logs.some((l) => l.includes('Upstream broke mid-response')));
    const oai = new OpenAI({ apiKey: 'x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    await assert.rejects(async () => {
      const st = await oai.chat.completions.create(
        { model: 'glm-4.6', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-sim-scenario': 'reset_mid_stream;after=3' } },
      );
      for await (const _ of st) {
        // consume
      }
    }, 'the OpenAI SDK must not take a truncated stream as complete');
  });

  test('idle timeout between chunks breaks the stream; headers timeout is a 504 in the API envelope', async () => {
    const { res } = await open(s.url, '/v1/messages', anthropicBody(), { 'x-sim-scenario': 'stall;after=2' });
    const { broken } = await drain(res);
    assert.equal(broken, true);
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-sim-scenario': 'slow_headers;delay=2000' },
      body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 504);
    assert.equal((await json(r)).error.code, 'upstream_timeout');
  });

  test('the Z.AI key never appears in a log line, a metric or an error body', async () => {
    const bodies: string[] = [];
    for (const sc of [
      'status;code=401',
      'status;code=500',
      'zai_error;status=429;code=1308',
      'reset_before_headers',
      'invalid_json',
    ]) {
      const r = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-sim-scenario': sc },
        body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
      });
      bodies.push(await r.text(), JSON.stringify([...r.headers]));
    }
    const all = [
      s.logs.join('\n'),
      await s.metricsText(),
      bodies.join('\n'),
      await (await fetch(`${s.url}/health`)).text(),
    ];
    for (const text of all) assert.ok(!text.includes(ZAI_KEY), 'key leaked');
    assert.ok(s.logs.length > 0);
  });
});

describe('graceful shutdown', () => {
  test('in-flight streams finish; then the listener is closed', async () => {
    const s = await startStack();
    const { res } = await open(s.url, '/v1/messages', anthropicBody(), {
      'x-sim-scenario': 'ok;events=3;gate=1',
    });
    const done = drain(res);
    await new Promise((r) => res.once('data', r));
    const stopped = s.proxy.shutdown(5000);
    for (let i = 0; i < 10; i++) s.sim.advance();
    const { broken } = await done;
    assert.equal(broken, false, 'the stream completed during the drain');
    await stopped;
    await assert.rejects(fetch(`${s.url}/healthz`));
    await s.sim.close();
  });

  test('streams still running at SHUTDOWN_TIMEOUT are aborted, upstream included', async () => {
    const s = await startStack();
    const { res } = await open(s.url, '/v1/messages', anthropicBody(), { 'x-sim-scenario': 'stall;after=1' });
    const done = drain(res);
    await new Promise((r) => res.once('data', r));
    await s.proxy.shutdown(100);
    assert.equal((await done).broken, true);
    await s.sim.waitFor((j) => j[0]!.aborted, 2000);
    await s.sim.close();
  });
});

async function waitUntil(pred: () => Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
