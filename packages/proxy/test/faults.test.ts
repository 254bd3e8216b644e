// Fault injection through the proxy with the simulated Z.AI. Every scenario runs on both APIs where
// it applies, several times over, and after each one the same invariants are checked: the proxy is
// up and ready; the client got a complete response, a clean error in its API's envelope, or a clean
// disconnect; no retry after bytes were sent; no upstream attempt after the client left; provider
// token counts equal the usage upstream reported for completed requests; nothing left in flight;
// and over the whole run no file-descriptor growth and no Z.AI key in any log line, metric or body.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import type { Admission } from '../src/admission/index.ts';
import type { Clock } from '../src/clock.ts';
import { type Stack, startStack, ZAI_KEY } from './harness.ts';

type Api = 'anthropic' | 'openai';
type Expect = 'complete' | 'error' | 'disconnect';

interface Case {
  name: string;
  /** x-sim-scenario, the same for both APIs or per API (Z.AI's error envelope differs by endpoint). */
  scenario: string | Record<Api, string>;
  stream: boolean;
  expect: Expect;
  /** Upstream attempts the request may make (exactly). */
  attempts?: number;
  status?: number;
}

const PATH: Record<Api, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
const body = (api: Api, stream: boolean) =>
  JSON.stringify({
    model: 'glm-4.6',
    ...(api === 'anthropic' ? { max_tokens: 16 } : {}),
    stream,
    messages: [{ role: 'user', content: 'hi' }],
  });

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  /** The connection ended without a complete response. */
  broken: boolean;
}

/** One request through the proxy, read to its end or to its break. */
function send(url: string, api: Api, c: Case, id: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${PATH[api]}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-sim-scenario': typeof c.scenario === 'string' ? c.scenario : c.scenario[api],
          'x-request-id': id,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let done = false;
        const finish = (broken: boolean) => {
          if (done) return;
          done = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bytes: Buffer.concat(chunks),
            broken,
          });
        };
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => finish(!res.complete));
        res.on('error', () => finish(true));
        res.on('close', () => finish(!res.complete));
      },
    );
    req.on('error', reject);
    req.end(body(api, c.stream));
  });
}

/** An error body in the envelope of the API the client used. */
function assertEnvelope(api: Api, bytes: Buffer, what: string): void {
  const j = JSON.parse(bytes.toString());
  if (api === 'anthropic') {
    assert.equal(j.type, 'error', what);
    assert.equal(typeof j.error.type, 'string', what);
    assert.equal(typeof j.error.message, 'string', what);
  } else {
    // What the OpenAI SDK reads (Z.AI's own error object carries code and message, no type).
    assert.equal(typeof j.error.message, 'string', what);
  }
}

/** The stream or body ended as the API says a complete answer ends. */
function assertComplete(api: Api, stream: boolean, bytes: Buffer, what: string): void {
  const t = bytes.toString();
  if (!stream) {
    const j = JSON.parse(t);
    assert.ok(api === 'anthropic' ? j.type === 'message' : Array.isArray(j.choices), what);
  } else if (api === 'anthropic') assert.ok(t.trimEnd().endsWith('data: {"type":"message_stop"}'), what);
  else assert.ok(t.trimEnd().endsWith('data: [DONE]'), what);
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fds = () => readdirSync('/proc/self/fd').length;
const PROVIDER = (d: string) => ({ direction: d, source: 'provider' });
const DIRS = ['input', 'output', 'cache_read', 'cache_write'] as const;

// Every Z.AI class a 429 can carry (by business code), and 529 overloaded.
const STORM_CODES = ['1302', '1303', '1304', '1305', '1308', '1310', '1312', '1313', '9999'];

const CASES: Case[] = [
  {
    name: 'ok',
    scenario: 'ok;input=21;output=9;cache_read=4',
    stream: false,
    expect: 'complete',
    attempts: 1,
  },
  {
    name: 'ok stream',
    scenario: 'ok;input=21;output=9;cache_read=4',
    stream: true,
    expect: 'complete',
    attempts: 1,
  },
  {
    name: 'reset before headers',
    scenario: 'reset_before_headers',
    stream: true,
    expect: 'error',
    status: 502,
    attempts: 3,
  },
  {
    name: 'reset mid-stream',
    scenario: 'reset_mid_stream;after=3',
    stream: true,
    expect: 'disconnect',
    attempts: 1,
  },
  {
    // undici checks its timeouts on a ~0.5 s tick: a 200 ms headers timeout fires at 0.75-1 s.
    name: 'slow headers past the timeout',
    scenario: 'slow_headers;delay=2500',
    stream: false,
    expect: 'error',
    status: 504,
    attempts: 1,
  },
  {
    name: 'stalled stream (idle timeout)',
    scenario: 'stall;after=2',
    stream: true,
    expect: 'disconnect',
    attempts: 1,
  },
  {
    name: 'stalled before the first byte',
    scenario: 'stall;after=0',
    stream: true,
    expect: 'error',
    status: 504,
    attempts: 1,
  },
  // A plain 5xx is Z.AI's answer, passed through once (only throttling statuses are retried).
  { name: '500', scenario: 'status;code=500', stream: true, expect: 'error', status: 500, attempts: 1 },
  { name: '503', scenario: 'status;code=503', stream: false, expect: 'error', status: 503, attempts: 1 },
  {
    name: '529 burst, then ok',
    scenario: 'fail_then_ok;times=2;with=zai_error;status=529;code=1305',
    stream: false,
    expect: 'complete',
    attempts: 3,
  },
  { name: 'empty 2xx', scenario: 'empty', stream: false, expect: 'error', status: 502, attempts: 3 },
  {
    name: 'invalid JSON 2xx',
    scenario: 'invalid_json',
    stream: false,
    expect: 'error',
    status: 502,
    attempts: 3,
  },
  { name: 'empty stream', scenario: 'empty_stream', stream: true, expect: 'error', status: 502, attempts: 3 },
  ...STORM_CODES.map(
    (code): Case => ({
      name: `429 storm, code ${code}`,
      scenario: {
        anthropic: `zai_error;status=429;code=${code};envelope=anthropic`,
        openai: `zai_error;status=429;code=${code}`,
      },
      stream: true,
      expect: 'error',
      status: 429,
    }),
  ),
];

describe('fault injection', () => {
  let s: Stack;
  let fdStart = 0;
  const bodies: string[] = [];
  before(async () => {
    s = await startStack({
      env: {
        TOKEN_COUNTING_ENABLED: 'true',
        UPSTREAM_HEADERS_TIMEOUT: '200ms',
        UPSTREAM_IDLE_TIMEOUT: '200ms',
        MAX_RETRIES: '2',
        STREAM_KEEPALIVE_INTERVAL: '50ms',
        // A 1302 storm is requeued (not retried) until the wait budget is spent: keep it short.
        MAX_QUEUE_WAIT: '1s',
      },
    });
    // Warm: the upstream connection pool and the tokenizer exist before the fd baseline.
    await send(s.url, 'anthropic', CASES[0]!, 'warm');
    await send(s.url, 'openai', CASES[0]!, 'warm-o');
    fdStart = fds();
  });
  after(() => s.close());

  for (const c of CASES) {
    for (const api of ['anthropic', 'openai'] as const) {
      test(`${c.name} (${api}): invariants hold`, async () => {
        for (let round = 0; round < 3; round++) {
          const id = `${c.name}-${api}-${round}`.replace(/[^\w.:-]/g, '_');
          const m0 = await s.metricsText();
          const o = await send(s.url, api, c, id);
          const what = `${c.name} ${api} round ${round}`;
          if (c.expect === 'disconnect') {
            assert.equal(o.status, 200, what);
            assert.equal(o.broken, true, `${what}: broken, never a clean end`);
          } else {
            assert.equal(o.broken, false, what);
            if (c.expect === 'complete') {
              assert.equal(o.status, 200, what);
              assertComplete(api, c.stream, o.bytes, what);
            } else {
              assert.equal(o.status, c.status, what);
              assertEnvelope(api, o.bytes, what);
            }
          }
          bodies.push(o.bytes.toString('latin1'), JSON.stringify(o.headers));
          await until(
            async () => sumSamples(await s.metricsText(), 'zai_proxy_concurrent_requests') === 0,
            'idle',
          );
          const mine = s.sim.journal.filter((j) => j.headers['x-request-id'] === id);
          if (c.attempts !== undefined) assert.equal(mine.length, c.attempts, `${what}: upstream attempts`);
          if (c.expect === 'complete') {
            const u = mine.at(-1)!.reportedUsage!;
            await until(
              async () => {
                const m1 = await s.metricsText();
                return DIRS.every(
                  (d) =>
                    sumSamples(m1, 'zai_proxy_tokens_total', PROVIDER(d)) -
                      sumSamples(m0, 'zai_proxy_tokens_total', PROVIDER(d)) ===
                    u[d],
                );
              },
              `${what}: provider tokens equal to the reported ${JSON.stringify(u)}`,
            );
          }
          assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
          assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
        }
      });
    }
  }

  test('over the whole run: no fd growth, no Z.AI key in logs, metrics, /health or any response', async () => {
    await until(() => fds() <= fdStart + 16, `fds back near ${fdStart} (now ${fds()})`);
    const health = await (await fetch(`${s.url}/health`)).text();
    const everything = [...s.logs, await s.metricsText(), health, ...bodies].join('\n');
    assert.ok(everything.length > 10_000);
    assert.ok(!everything.includes(ZAI_KEY), 'the Z.AI key appears nowhere');
    assert.ok(!everything.includes(ZAI_KEY.slice(4, 20)), 'nor a piece of it');
  });
});

describe('client abort at every phase: no upstream attempt after the client left', () => {
  /** A clock whose waits end only when aborted: a retry wait lasts until the client leaves. */
  const parkedClock: Clock = {
    now: () => Date.now(),
    random: () => 0,
    sleep: (_ms, signal) =>
      new Promise((_r, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
  };
  /** Admission that queues every attempt until the client leaves. */
  const queued = new Set<string>();
  const queue: Admission = {
    acquire: (req, signal) =>
      new Promise((_r, reject) => {
        const key = String(req.model);
        queued.add(key);
        signal.addEventListener('abort', () => reject(new Error('left while queued')), { once: true });
      }),
    health: () => ({}),
  };
  let s: Stack;
  let q: Stack;
  before(async () => {
    s = await startStack({ clock: parkedClock, env: { TOKEN_COUNTING_ENABLED: 'true' } });
    q = await startStack({ admission: queue });
  });
  after(async () => {
    await s.close();
    await q.close();
  });

  /** Opens a request and destroys it once `ready` holds; resolves when the proxy has let it go. */
  async function abortWhen(
    st: Stack,
    scenario: string,
    model: string,
    ready: () => boolean,
    atBytes = false,
  ) {
    let got = false;
    const req = request(`${st.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-scenario': scenario },
    });
    req.on('response', (res) => res.on('data', () => (got = true)));
    req.on('error', () => {});
    req.end(
      JSON.stringify({ model, max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    );
    await until(() => ready() && (!atBytes || got), 'the phase');
    const n = st.sim.journal.length;
    req.destroy();
    await until(
      async () => sumSamples(await st.metricsText(), 'zai_proxy_concurrent_requests') === 0,
      'released',
    );
    // Give any attempt the proxy might still make the chance to arrive: a request the sim would
    // journal before the proxy could answer another. Then count.
    const r = await fetch(`${st.url}/healthz`);
    assert.equal(r.status, 200);
    return { before: n, after: st.sim.journal.length };
  }

  test('queued in admission', async () => {
    const { before, after } = await abortWhen(q, 'ok', 'queued-model', () => queued.has('queued-model'));
    assert.equal(before, 0);
    assert.equal(after, 0);
  });

  // A 1303 (frequency): the retry policy waits its Retry-After. (A 1302 is requeued by admission at
  // once, without a wait, so it cannot stand for this phase.)
  test('waiting to retry (a 429 with Retry-After)', async () => {
    const { before, after } = await abortWhen(
      s,
      'zai_error;status=429;code=1303;retry_after_header=30',
      'glm-4.6',
      () => s.sim.journal.length === 1,
    );
    assert.equal(before, 1);
    assert.equal(after, 1);
  });

  test('before the response head (slow headers)', async () => {
    const j0 = s.sim.journal.length;
    const { after } = await abortWhen(
      s,
      'slow_headers;delay=5000',
      'glm-4.6',
      () => s.sim.journal.length === j0 + 1,
    );
    assert.equal(after, j0 + 1);
    await s.sim.waitFor(() => s.sim.journal.at(-1)!.aborted || s.sim.journal.at(-1)!.status === 0, 5000);
  });

  test('mid-stream', async () => {
    const j0 = s.sim.journal.length;
    const { after } = await abortWhen(
      s,
      'ok;events=5;gate=1',
      'glm-4.6',
      () => s.sim.journal.length === j0 + 1,
      true,
    );
    assert.equal(after, j0 + 1);
    await s.sim.waitFor(() => s.sim.journal.at(-1)!.aborted, 5000);
  });
});

describe('connection refused', () => {
  test('a closed upstream port is a 502 in the envelope of each API, retried, proxy stays ready', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const st = await startStack({
      env: {
        ZAI_TARGET_URL: `http://127.0.0.1:${port}/api/anthropic`,
        ZAI_OPENAI_TARGET_URL: `http://127.0.0.1:${port}/api/paas/v4`,
      },
    });
    try {
      for (const api of ['anthropic', 'openai'] as const) {
        const o = await send(
          st.url,
          api,
          { name: 'refused', scenario: 'ok', stream: true, expect: 'error' },
          `r-${api}`,
        );
        assert.equal(o.status, 502);
        assertEnvelope(api, o.bytes, api);
      }
      assert.equal((await fetch(`${st.url}/readyz`)).status, 200);
      assert.ok(sumSamples(await st.metricsText(), 'zai_proxy_upstream_errors_total') >= 2);
    } finally {
      await st.close();
    }
  });
});
