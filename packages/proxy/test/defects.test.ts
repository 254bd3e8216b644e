// One test per defect an outside probe found in the proxy (issue #16), each through real sockets
// and the simulated Z.AI. Defect 3 (100k-deep JSON on the OpenAI streaming route) is tested in
// accounting.test.ts ("a 100,000-deep body with invalid UTF-8 reaches Z.AI byte for byte").
import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import { json, type Stack, startStack } from './harness.ts';

const msg = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }], ...extra });

/** Writes raw bytes (then each of `more` when the previous went out) and returns all the proxy
 *  answered until it closed the connection. */
function raw(url: string, head: string, opts: { trickle?: string; everyMs?: number } = {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1');
    let out = '';
    let timer: NodeJS.Timeout | null = null;
    sock.on('connect', () => {
      sock.write(head);
      if (opts.trickle !== undefined) {
        let i = 0;
        timer = setInterval(() => {
          if (i < opts.trickle!.length && sock.writable) sock.write(opts.trickle![i++]!);
        }, opts.everyMs ?? 20);
      }
    });
    sock.on('data', (c) => {
      out += c.toString('latin1');
    });
    sock.on('error', (e) => (out === '' ? reject(e) : undefined));
    sock.on('close', () => {
      if (timer !== null) clearInterval(timer);
      resolve(out);
    });
  });
}

const statusOf = (rawResponse: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(rawResponse)?.[1] ?? 0);

/** Opens a gated stream and resolves at its first bytes (its body stays held by the proxy). */
function openStream(url: string, body: string): Promise<{ res: IncomingMessage; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/messages`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim-scenario': 'ok;events=3;gate=1' },
      },
      (res) => res.once('data', () => resolve({ res, close: () => req.destroy() })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A defect that comes back may show as a hang (a body waited for, a head never answered). */
const T = { timeout: 20_000 };

describe('defects found by the outside probe', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      env: {
        MAX_BUFFERED_REQUEST_BYTES: '300000',
        REQUEST_BODY_TIMEOUT: '150ms',
        REQUEST_BODY_MIN_RATE: '2000',
        TOKEN_COUNTING_ENABLED: 'true',
        UPSTREAM_IDLE_TIMEOUT: '2s',
      },
    });
  });
  after(() => s.close());

  test(
    'defect 1: bytes held for request bodies are bounded over all requests (503 + Retry-After beyond)',
    T,
    async () => {
      const big = msg({ stream: true, metadata: { pad: 'p'.repeat(160_000) } }); // over half of the 300 kB budget
      const held = await openStream(s.url, big); // held until its stream ends
      const seen = s.sim.journal.length;
      for (const chunked of [false, true]) {
        const r = chunked
          ? await fetch(`${s.url}/v1/messages`, {
              method: 'POST',
              body: new Blob([big]).stream(),
              duplex: 'half',
            } as RequestInit)
          : await fetch(`${s.url}/v1/messages`, { method: 'POST', body: big });
        assert.equal(r.status, 503, chunked ? 'chunked' : 'declared length');
        assert.equal(r.headers.get('retry-after'), '1');
        assert.equal((await json(r)).error.type, 'overloaded_error');
      }
      assert.equal(s.sim.journal.length, seen, 'a refused body never reaches Z.AI');
      held.close();
      // Once the held request ends its bytes are given back: the same body fits again.
      await until(
        async () => sumSamples(await s.metricsText(), 'zai_proxy_concurrent_requests') === 0,
        'idle',
      );
      const ok = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: big });
      assert.equal(ok.status, 200);
      await ok.text();
    },
  );

  test(
    'defect 2: a stalled upload and a crawling one are cut with 408, not held for minutes',
    T,
    async () => {
      const seen = s.sim.journal.length;
      const head = (n: number) =>
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${n}\r\n\r\n`;
      const stalled = await raw(s.url, `${head(500)}{"model":"glm-4.6",`);
      assert.equal(statusOf(stalled), 408);
      assert.match(stalled, /"type":"invalid_request_error"/);
      assert.match(stalled, /connection: close/i);
      // One byte every 20 ms is 50 B/s, far below REQUEST_BODY_MIN_RATE; 400 bytes would take 8 s.
      const crawl = await raw(s.url, head(400), { trickle: 'x'.repeat(400), everyMs: 20 });
      assert.equal(statusOf(crawl), 408);
      assert.equal(s.sim.journal.length, seen);
      await until(
        async () => sumSamples(await s.metricsText(), 'zai_proxy_concurrent_requests') === 0,
        'idle',
      );
    },
  );

  test(
    'defect 4: a request too deep to walk is still counted: bytes/4, marked estimated, logged',
    T,
    async () => {
      let deep = '1';
      for (let i = 0; i < 100_000; i++) deep = `[${deep}]`;
      const body = `{"model":"glm-4.6","max_tokens":8,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":{"d":${deep}}}]}`;
      const tokensBefore = sumSamples(await s.metricsText(), 'zai_proxy_tokens_total', {
        direction: 'input',
        source: 'estimate',
      });
      const r = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-sim-scenario': 'ok;no_usage=1' },
        body,
      });
      assert.equal(r.status, 200);
      const out = await json(r);
      const expected = Math.ceil(Buffer.byteLength(body) / 4);
      assert.equal(r.headers.get('x-token-input'), String(expected));
      assert.equal(r.headers.get('x-token-source'), 'estimate');
      assert.equal(out.usage.input_tokens, expected);
      await until(
        async () => s.logs.some((l) => l.includes('Token usage (estimated)')),
        'the usage log line',
      );
      assert.ok(s.logs.some((l) => l.includes('degraded to request bytes/4')));
      const after = sumSamples(await s.metricsText(), 'zai_proxy_tokens_total', {
        direction: 'input',
        source: 'estimate',
      });
      assert.equal(after - tokensBefore, expected);
    },
  );

  test(
    'defect 5: a refused request with a large body is answered and the connection closed, the body not read',
    T,
    async () => {
      // 200 MB announced, none of it sent: an answer that waited to drain it would never come.
      for (const [path, status] of [
        ['/v1/nope', 404],
        ['/v1/models', 405],
        ['/v1/messages', 413],
      ] as const) {
        const head = `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 209715200\r\n\r\n`;
        const res = await raw(s.url, head);
        assert.equal(statusOf(res), status, path);
        assert.match(res, /connection: close/i);
      }
    },
  );

  test(
    'defect 6: credential-shaped headers of other providers never reach Z.AI; session headers do',
    T,
    async () => {
      const r = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'api-key': 'leak-azure',
          'x-goog-api-key': 'leak-google',
          'x-custom-token': 'leak-tok',
          'x-service-auth': 'leak-auth',
          'x-amz-security-token': 'leak-amz',
          'ocp-apim-subscription-key': 'leak-apim',
          cookie: 'session=leak-cookie',
          'anthropic-beta': 'prompt-caching-2024-07-31',
          'x-claude-code-session-id': 'sess-1',
        },
        body: msg(),
      });
      assert.equal(r.status, 200);
      await r.text();
      const h = s.sim.journal.at(-1)!.headers;
      for (const name of [
        'api-key',
        'x-goog-api-key',
        'x-custom-token',
        'x-service-auth',
        'x-amz-security-token',
        'ocp-apim-subscription-key',
        'cookie',
      ]) {
        assert.equal(h[name], undefined, `${name} is not forwarded`);
      }
      assert.equal(h['anthropic-beta'], 'prompt-caching-2024-07-31');
      assert.equal(h['x-claude-code-session-id'], 'sess-1');
      assert.ok(!JSON.stringify(h).includes('leak-'));
    },
  );

  test(
    'defect 7: an oversized head is 431 and a head that never completes is 408, not a bare 400',
    T,
    async () => {
      const huge = await raw(
        s.url,
        `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      assert.equal(statusOf(huge), 431);
      const slow = await raw(s.url, 'POST /v1/messages HTTP/1.1\r\nhost: x\r\n');
      assert.equal(statusOf(slow), 408);
      const garbage = await raw(s.url, 'NOT HTTP AT ALL\r\n\r\n');
      assert.equal(statusOf(garbage), 400);
    },
  );

  test('defect 8: ops endpoints answer GET and HEAD only; HEAD works on GET routes', T, async () => {
    for (const path of ['/health', '/healthz', '/readyz', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const r = await fetch(`${s.url}${path}`, { method });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.get('allow'), 'GET, HEAD');
        await r.text();
      }
      const h = await fetch(`${s.url}${path}`, { method: 'HEAD' });
      assert.equal(h.status, 200, `HEAD ${path}`);
    }
    const models = await fetch(`${s.url}/v1/models`, { method: 'HEAD' });
    assert.equal(models.status, 200);
    assert.equal(await models.text(), '');
  });

  test('defect 9: a stream broken mid-way is told apart from a completed one', T, async () => {
    const outcome = async (o: string) =>
      sumSamples(await s.metricsText(), 'zai_proxy_request_outcomes_total', {
        path: '/v1/messages',
        outcome: o,
      });
    const broken0 = await outcome('upstream_broken');
    const aborted0 = await outcome('client_abort');
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-sim-scenario': 'reset_mid_stream;after=2' },
      body: msg({ stream: true }),
    });
    await assert.rejects(r.text());
    await until(async () => (await outcome('upstream_broken')) === broken0 + 1, 'upstream_broken');
    const held = await openStream(s.url, msg({ stream: true }));
    held.close();
    await until(async () => (await outcome('client_abort')) === aborted0 + 1, 'client_abort');
  });
});
