// Traffic into a spent quota window, through the proxy and the simulated Z.AI, on a virtual clock:
// requests in flight when the first quota answer arrives finish as Z.AI answers them; after it no
// request reaches Z.AI until the reset (or, with no reset known, until the half-open probe); clients
// get 429 with Retry-After, x-should-retry: false and X-Zai-Error-Class: quota; traffic resumes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sumSamples } from '@zai-proxy/prom-text';
import { beijingTime } from '@zai-proxy/testkit';
import type { Clock } from '../src/clock.ts';
import { fakeClock, json, type Stack, startStack } from './harness.ts';

const H = 3_600_000;
const BODY = JSON.stringify({
  model: 'glm-4.6',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'hi' }],
});
const STREAM = JSON.stringify({ ...JSON.parse(BODY), stream: true });

const post = (s: Stack, headers: Record<string, string> = {}, body = BODY) =>
  fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

/** n requests, all refused by the gate without reaching Z.AI; returns their Retry-After values. */
async function refused(s: Stack, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const before = s.sim.journal.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(s, headers);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-should-retry'), 'false');
    assert.equal(r.headers.get('x-zai-error-class'), 'quota');
    const b = await json(r);
    assert.equal(b.type, 'error');
    assert.equal(b.error.type, 'rate_limit_error');
    out.push(Number(r.headers.get('retry-after')));
  }
  assert.equal(s.sim.journal.length, before, 'no request reached Z.AI while the gate is closed');
  return out;
}

const stacks: Stack[] = [];
after(() => Promise.all(stacks.map((s) => s.close())));
async function stack(env: Record<string, string> = {}, simApiKey?: string | null) {
  const clock = fakeClock(); // moves only by retry waits and advance()
  const s = await startStack({
    // The adaptive concurrency limit starts at 2 and would hold a third request behind two open
    // streams; these tests are about the gate alone.
    env: { MAX_RETRIES: '2', CONCURRENCY_ENABLED: 'false', ...env },
    clock,
    ...(simApiKey !== undefined ? { simApiKey } : {}),
  });
  stacks.push(s);
  return { s, clock };
}

describe('quota gate through the proxy', () => {
  test('1308 with a reset: in-flight requests finish, nothing is sent until the reset, then traffic resumes', async () => {
    const { s, clock } = await stack();
    const reset = clock.now() + H; // epoch ms in the body's reset field
    s.sim.enqueue(
      'ok;gate=1;events=3',
      'ok;gate=1;events=3',
      `zai_error;status=429;code=1308;reset=${reset}`,
    );
    // Two streams in flight (head and first event sent, the rest held by the sim).
    const inflight = [post(s, {}, STREAM), post(s, {}, STREAM)];
    await s.sim.waitFor((j) => j.length === 2);
    const streams = await Promise.all(inflight);
    assert.deepEqual(
      streams.map((r) => r.status),
      [200, 200],
    );
    // The first quota answer: passed through (not retried), the gate closes.
    const first = await post(s);
    assert.equal(first.status, 429);
    assert.equal(s.sim.journal.length, 3);
    // The streams already in flight finish as Z.AI answers them.
    const bodies = Promise.all(streams.map((r) => r.text()));
    const pump = setInterval(() => s.sim.advance(), 1);
    const texts = await bodies.finally(() => clearInterval(pump));
    for (const t of texts) assert.match(t, /event: message_stop/);
    // Later requests are refused at once, with Retry-After until the reset.
    const ra = await refused(s, 5);
    assert.deepEqual(ra, [3600, 3600, 3600, 3600, 3600]);
    const h = await json(await fetch(`${s.url}/health`));
    assert.equal(h.quota.gate.open, false);
    assert.equal(h.quota.gate.closed[0].source, 'zai');
    const metrics = await s.metricsText();
    assert.equal(sumSamples(metrics, 'zai_proxy_quota_gate_rejections_total'), 5);
    // The 1308 names its window ("Usage limit reached for 5 hour"): the gate closes that one.
    assert.equal(sumSamples(metrics, 'zai_proxy_quota_gate_open', { window: 'five_hour' }), 0);
    assert.equal(sumSamples(metrics, 'zai_proxy_quota_gate_open', { window: 'unknown' }), 1);
    assert.equal(h.quota.gate.closed[0].window, 'five_hour');
    // A second before the reset the gate is still closed; at the reset traffic resumes.
    clock.advance(H - 1000);
    assert.deepEqual(await refused(s, 1), [1]);
    clock.advance(1000);
    s.sim.reset();
    const next = await post(s);
    assert.equal(next.status, 200);
    assert.equal(s.sim.journal.length, 1);
    assert.equal(sumSamples(await s.metricsText(), 'zai_proxy_quota_gate_open', { window: 'five_hour' }), 1);
  });

  test('1310 with the reset only in its message text (UTC+8): gated until that instant', async () => {
    const { s, clock } = await stack();
    const reset = Math.floor((clock.now() + 50 * H) / 1000) * 1000;
    const msg = encodeURIComponent(
      `[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at ${beijingTime(reset)}]`,
    );
    s.sim.enqueue(`zai_error;status=429;code=1310;msg=${msg}`);
    assert.equal((await post(s)).status, 429);
    const ra = await refused(s, 3);
    for (const v of ra) assert.equal(v, Math.ceil((reset - clock.now()) / 1000));
    clock.advance(50 * H - 60_000);
    await refused(s, 1);
    clock.advance(60_000);
    assert.equal((await post(s)).status, 200);
  });

  for (const [code, what] of [
    ['1308', 'a five-hour answer'],
    ['1304', 'the daily call count'],
  ] as const)
    test(`${what} without a reset (${code}): half-open, one probe per QUOTA_PROBE_INTERVAL`, async () => {
      const { s, clock } = await stack({ QUOTA_PROBE_INTERVAL: '5m' });
      s.sim.enqueue(`zai_error;status=429;code=${code};msg=${encodeURIComponent('Usage limit reached.')}`);
      assert.equal((await post(s)).status, 429);
      const ra = await refused(s, 3);
      assert.deepEqual(ra, [300, 300, 300]);
      const h = await json(await fetch(`${s.url}/health`));
      assert.ok(h.quota.gate.closed[0].next_probe_at !== undefined);
      // The probe finds the window still spent: closed again for another interval.
      clock.advance(300_000);
      s.sim.enqueue(`zai_error;status=429;code=${code};msg=${encodeURIComponent('Usage limit reached.')}`);
      const before = s.sim.journal.length;
      assert.equal((await post(s)).status, 429);
      assert.equal(s.sim.journal.length, before + 1, 'exactly one probe went');
      await refused(s, 2);
      // The next probe is answered: the gate opens, traffic flows.
      clock.advance(300_000);
      assert.equal((await post(s)).status, 200);
      assert.equal((await post(s)).status, 200);
      assert.equal(s.sim.journal.length, before + 3);
    });

  test('pass-through: one account gated, the other not', async () => {
    const { s } = await stack({ ZAI_API_KEY: '' }, null);
    const a = { 'x-api-key': 'client-key-A' };
    const b = { 'x-api-key': 'client-key-B' };
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+3600');
    assert.equal((await post(s, a)).status, 429);
    await refused(s, 2, a);
    assert.equal((await post(s, b)).status, 200);
    assert.equal((await post(s, b)).status, 200);
    const h = await json(await fetch(`${s.url}/health`));
    assert.equal(h.quota.gate.closed_accounts, 1);
    assert.match(h.quota.gate.closed[0].account, /^sha256:[0-9a-f]{16}$/);
    assert.ok(!JSON.stringify(h).includes('client-key-A'));
  });

  test('QUOTA_GATE_ENABLED=false: every request goes to Z.AI, as with the original', async () => {
    const { s } = await stack({ QUOTA_GATE_ENABLED: 'false' });
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+3600', 'zai_error;status=429;code=1308;reset=+3600');
    assert.equal((await post(s)).status, 429);
    assert.equal((await post(s)).status, 429);
    assert.equal(s.sim.journal.length, 2);
  });

  test('the OpenAI surface gets the OpenAI envelope', async () => {
    const { s } = await stack();
    s.sim.enqueue('zai_error;status=429;code=1308;reset=+3600');
    assert.equal((await post(s)).status, 429);
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-should-retry'), 'false');
    const b = await json(r);
    assert.equal(b.error.type, 'insufficient_quota');
    assert.match(b.error.message, /quota window is spent; it resets at \d{4}-\d\d-\d\dT/);
  });
});

/** A clock whose waits last until the test ends them: the poller polls once at start, then waits. */
function pollOnceClock(): Clock {
  return {
    now: () => Date.now(),
    random: () => 0,
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        if (signal.aborted) reject(new Error('aborted'));
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
  };
}

async function polledStack(env: Record<string, string>, quotaScenario: string): Promise<Stack> {
  // The sim answers the first poll with this; it is queued before the proxy starts polling.
  const s = await startStack({ env: { QUOTA_POLL_ENABLED: 'true', ...env }, clock: pollOnceClock() });
  stacks.push(s);
  s.sim.enqueue(`${quotaScenario};route=quota`);
  return s;
}

async function afterFirstPoll(s: Stack): Promise<Record<string, unknown>> {
  for (;;) {
    const h = await json(await fetch(`${s.url}/health`));
    if (h.quota.last_outcome !== undefined) return h;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('polling and admission', () => {
  test('without enforcement a spent poll changes nothing: requests still go to Z.AI', async () => {
    const s = await polledStack({}, 'ok;five_hour_pct=100;weekly_pct=137');
    const h = await afterFirstPoll(s);
    assert.deepEqual(
      (h.quota as { windows: { used_fraction: number }[] }).windows.map((w) => w.used_fraction),
      [1, 1],
    );
    const before = s.sim.journal.length;
    assert.equal((await post(s)).status, 200);
    assert.equal(s.sim.journal.length, before + 1);
  });

  test('with enforcement a fresh poll beyond 1 − reserve closes the gate until the window resets', async () => {
    const s = await polledStack(
      { QUOTA_ENFORCEMENT_ENABLED: 'true', QUOTA_RESERVE_FRACTION: '0.05' },
      'ok;five_hour_pct=20;weekly_pct=96',
    );
    const h = await afterFirstPoll(s);
    const gate = (h.quota as { gate: { closed: { window: string; source: string; reset_at: string }[] } })
      .gate;
    assert.deepEqual(
      gate.closed.map((e) => [e.window, e.source]),
      [['weekly', 'poll']],
    );
    const ra = await refused(s, 2);
    const resetIn = (Date.parse(gate.closed[0]!.reset_at) - Date.now()) / 1000;
    for (const v of ra) assert.ok(Math.abs(v - resetIn) < 5, `Retry-After ${v} ≈ ${resetIn}`);
  });

  test('the status line shows the gate of a real proxy, then says it is down', async () => {
    const s = await polledStack({ QUOTA_ENFORCEMENT_ENABLED: 'true' }, 'ok;five_hour_pct=37;weekly_pct=100');
    await afterFirstPoll(s);
    const bin = fileURLToPath(new URL('../../../bin/zai-proxy.mjs', import.meta.url));
    const cache = join(mkdtempSync(join(tmpdir(), 'statusline-')), 'c.json');
    const run = (url: string) =>
      new Promise<string>((resolve) =>
        execFile(
          process.execPath,
          [bin, 'statusline', `--url=${url}`, `--cache-file=${cache}`, '--cache-ms=0'],
          (_e, out) => resolve(out),
        ),
      );
    const line = await run(s.url);
    assert.match(line, /^Z\.AI ⛔ week spent, reopens .* · 5h 37% ↻\S+ · week 100% ↻/);
    await s.close();
    stacks.splice(stacks.indexOf(s), 1);
    assert.match(await run(s.url), /^Z\.AI proxy down \(127\.0\.0\.1:\d+\), \d+s ago: ⛔ week spent/);
  });
});
