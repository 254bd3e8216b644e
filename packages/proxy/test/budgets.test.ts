// Per-client budgets end to end on a virtual wall clock: warnings fired once per threshold and
// period, 429s for the spent client alone, the roll-over at local midnight of a DST change day, the
// in-flight cap, and spent amounts kept across a restart through the state file.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fakeClock, json, type Stack, startProxy, startStack } from './harness.ts';

const ADMIN = 'admin-token-0123456789';
const KEYS = 'alice:alice-key-0123456789,bob:bob-key-0123456789';
const KEY = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' } as const;
const H = 3_600_000;

const messages = (s: Stack, who: keyof typeof KEY, stream = false) =>
  fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY[who] },
    body: JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 16,
      stream,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });

/** One answered request of `who` that reports `tokens` tokens (all input), then its usage recorded. */
async function spend(s: Stack, who: keyof typeof KEY, tokens: number): Promise<void> {
  s.sim.enqueue(`ok;input=${tokens};output=0`);
  const r = await messages(s, who);
  assert.equal(r.status, 200, await r.text());
  await report(s); // waits for the budget's writes
}

const report = async (s: Stack) =>
  json(await fetch(`${s.url}/admin/budgets`, { headers: { authorization: `Bearer ${ADMIN}` } }));

const lines = (s: Stack, text: string) =>
  s.logs.map((l) => JSON.parse(l) as { msg: string; client?: string }).filter((l) => l.msg.startsWith(text));

describe('a client crossing 80 %, 95 % and 100 % of its daily tokens on a DST change day', () => {
  // Sunday 2026-10-25 in Berlin is 25 hours long: it ends at 23:00 UTC.
  const clock = fakeClock(Date.parse('2026-10-25T10:00:00Z'));
  let s: Stack;
  before(async () => {
    s = await startStack({
      clock,
      env: {
        PROXY_API_KEYS: KEYS,
        ADMIN_TOKEN: ADMIN,
        REPORT_TIMEZONE: 'Europe/Berlin',
        CLIENT_BUDGETS: JSON.stringify({
          clients: { alice: { tokens_per_day: 1000 }, bob: { tokens_per_day: 1000 } },
        }),
      },
    });
  });
  after(() => s.close());

  test('one warning per threshold, then 429 for that client alone', async () => {
    for (const n of [500, 300, 100, 50, 40, 10]) await spend(s, 'alice', n); // 500 … 800 … 950 … 1000
    const warnings = lines(s, 'Budget warning:');
    assert.equal(warnings.length, 2, warnings.map((w) => w.msg).join('\n'));
    assert.match(
      warnings[0]!.msg,
      /alice has used 80 % of tokens_per_day \(800 of 1000 tokens this day in Europe\/Berlin\)/,
    );
    assert.match(warnings[1]!.msg, /alice has used 95 % of tokens_per_day/);
    const exceeded = lines(s, 'Budget exceeded:');
    assert.equal(exceeded.length, 1);
    assert.match(exceeded[0]!.msg, /new requests get 429 until 2026-10-25T23:00:00Z/);

    const sent = s.sim.journal.length;
    const r = await messages(s, 'alice');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-should-retry'), 'false');
    assert.equal(r.headers.get('retry-after'), String(13 * 3600));
    const body = await json(r);
    assert.equal(body.error.type, 'rate_limit_error');
    assert.match(
      body.error.message,
      /alice has used up its budget tokens_per_day .*; it resets at 2026-10-25T23:00:00Z/,
    );
    const oa = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.alice}` },
      body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(oa.status, 429);
    assert.equal((await json(oa)).error.code, 'budget_exceeded');
    assert.equal(s.sim.journal.length, sent, 'nothing of alice was sent');
    assert.equal((await messages(s, 'bob')).status, 200, 'bob is untouched');

    const rep = await report(s);
    const alice = rep.clients.find((c: { client: string }) => c.client === 'alice');
    assert.equal(alice.refused, true);
    assert.deepEqual(alice.limits[0].warnings, [0.8, 0.95, 1]);
    assert.equal(alice.limits[0].used, 1000);
    assert.equal(alice.limits[0].remaining, 0);
    const health = await json(await fetch(`${s.url}/health`));
    assert.equal(health.budgets.refused, 1);
    const text = await s.metricsText();
    assert.match(
      text,
      /zai_proxy_budget_warnings_total\{client="alice",budget="tokens_per_day",threshold="0.8",variant="production"\} 1\n/,
    );
    assert.match(
      text,
      /zai_proxy_budget_warnings_total\{client="alice",budget="tokens_per_day",threshold="1",variant="production"\} 1\n/,
    );
    assert.match(
      text,
      /zai_proxy_budget_warning_active\{client="alice",budget="tokens_per_day",threshold="0.95",variant="production"\} 1\n/,
    );
    assert.match(
      text,
      /zai_proxy_budget_rejections_total\{client="alice",budget="tokens_per_day",variant="production"\} 2\n/,
    );
    assert.match(
      text,
      /zai_proxy_budget_used_ratio\{client="alice",budget="tokens_per_day",variant="production"\} 1\n/,
    );
    assert.doesNotMatch(text, /alice-key/);
  });

  test('the day rolls over at local midnight (23:00 UTC on this 25-hour day)', async () => {
    clock.advance(Date.parse('2026-10-25T22:59:59Z') - clock.now());
    const late = await messages(s, 'alice');
    assert.equal(late.status, 429);
    assert.equal(late.headers.get('retry-after'), '1');
    clock.advance(1000);
    await spend(s, 'alice', 100);
    const resolved = lines(s, 'Budget').filter((l) => l.msg.includes('resolved'));
    assert.equal(resolved.length, 3, resolved.map((l) => l.msg).join('\n'));
    assert.match(resolved[0]!.msg, /period day:2026-10-25 ended/);
    const rep = await report(s);
    const alice = rep.clients.find((c: { client: string }) => c.client === 'alice');
    assert.equal(alice.limits[0].period, 'day:2026-10-26');
    assert.equal(alice.limits[0].used, 100);
    assert.equal(lines(s, 'Budget warning:').length, 2, 'no new warning in the new day');
    assert.match(
      await s.metricsText(),
      /zai_proxy_budget_warning_active\{client="alice",budget="tokens_per_day",threshold="0.95",variant="production"\} 0\n/,
    );
    // The new day is a new period: crossing 80 % again warns once more, once.
    await spend(s, 'alice', 700);
    await spend(s, 'alice', 50);
    const again = lines(s, 'Budget warning:').slice(2) as { msg: string; period?: string }[];
    assert.deepEqual(
      again.map((l) => [l.period, l.msg.match(/used (\d+ %)/)?.[1]]),
      [['day:2026-10-26', '80 %']],
    );
  });
});

test('/admin/budgets needs ADMIN_TOKEN', async () => {
  const s = await startStack({
    env: { PROXY_API_KEYS: KEYS, ADMIN_TOKEN: ADMIN, CLIENT_BUDGETS: '{"default":{"usd_per_month":5}}' },
  });
  try {
    const r = await fetch(`${s.url}/admin/budgets`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(r.status, 401);
    const ok = await report(s);
    assert.deepEqual(ok.default, { usd_per_month: 5, warn_at: [0.8, 0.95] });
    assert.equal(
      (
        await fetch(`${s.url}/admin/budgets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).status,
      405,
    );
  } finally {
    await s.close();
  }
});

test('the in-flight cap refuses a client at its cap, and only that client', async () => {
  const s = await startStack({
    env: {
      PROXY_API_KEYS: KEYS,
      CLIENT_BUDGETS: JSON.stringify({ clients: { alice: { max_in_flight: 1 } } }),
    },
  });
  try {
    s.sim.enqueue('ok;gate;events=3');
    const first = messages(s, 'alice', true);
    await s.sim.waitFor((j) => j.length === 1);
    const second = await messages(s, 'alice');
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('x-should-retry'), 'true');
    assert.equal(second.headers.get('retry-after'), '1');
    const body = await json(second);
    assert.equal(body.error.type, 'rate_limit_error');
    assert.match(body.error.message, /alice already has 1 requests in flight/);
    assert.equal((await messages(s, 'bob')).status, 200);
    const r = await first;
    for (let i = 0; i < 10; i++) s.sim.advance();
    assert.equal(r.status, 200);
    await r.text();
    // The first request has left: alice may send again.
    for (let i = 0; i < 100 && s.proxy.inflight() > 0; i++) await new Promise((ok) => setImmediate(ok));
    assert.equal((await messages(s, 'alice')).status, 200);
    assert.match(
      await s.metricsText(),
      /zai_proxy_admission_refusals_total\{reason="client_in_flight",variant="production"\} 1\n/,
    );
  } finally {
    await s.close();
  }
});

test('a restart keeps the spent amounts (state file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zai-budgets-'));
  const file = join(dir, 'budgets.json');
  writeFileSync(file, JSON.stringify({ clients: { alice: { tokens_per_day: 1000 } } }));
  const env = {
    PROXY_API_KEYS: KEYS,
    ADMIN_TOKEN: ADMIN,
    CLIENT_BUDGETS_FILE: file,
    RATE_LIMIT_STATE_FILE: join(dir, 'state.json'),
    // Learned limits older than this are dropped at startup; a budget period's amounts are not.
    RATE_LIMIT_STATE_MAX_AGE: '0s',
  };
  const clock = fakeClock(Date.parse('2026-12-01T09:00:00Z'));
  const a = await startStack({ clock, env });
  let b: Stack | null = null;
  try {
    await spend(a, 'alice', 600);
    await spend(a, 'alice', 400);
    assert.equal((await messages(a, 'alice')).status, 429);
    await a.proxy.shutdown(0);
    clock.advance(7 * H);
    b = await startProxy(a.sim, { clock, env });
    const r = await messages(b, 'alice');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), String(8 * 3600));
    const alice = (await report(b)).clients.find((c: { client: string }) => c.client === 'alice');
    assert.equal(alice.limits[0].used, 1000);
    assert.equal(
      lines(b, 'Budget warning:').length,
      0,
      'warnings fired before the restart do not fire again',
    );
  } finally {
    await b?.proxy.shutdown(0);
    await a.sim.close();
  }
});

test('a five-hour share: the client part of the polled window, and the others keep theirs', async () => {
  // The poller polls once at start, then waits for ever.
  const clock = {
    now: () => Date.now(),
    random: () => 0,
    sleep: (_ms: number, signal: AbortSignal) =>
      new Promise<void>((_ok, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted'))),
      ),
  };
  const s = await startStack({
    clock,
    env: {
      PROXY_API_KEYS: KEYS,
      ADMIN_TOKEN: ADMIN,
      QUOTA_POLL_ENABLED: 'true',
      CLIENT_BUDGETS: JSON.stringify({ default: { five_hour_share: 0.4 } }),
    },
  });
  try {
    s.sim.enqueue('ok;five_hour_pct=60;weekly_pct=10;route=quota');
    for (let i = 0; i < 500; i++) {
      if ((await json(await fetch(`${s.url}/health`))).quota.last_outcome !== undefined) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await spend(s, 'alice', 100);
    await spend(s, 'bob', 100); // each: half of what the proxy sent, of a 60 % used window: 30 %
    const half = (await report(s)).clients.map((c: { limits: { used: number }[] }) => c.limits[0]!.used);
    assert.deepEqual(half, [0.3, 0.3]);
    await spend(s, 'alice', 200); // alice 300 of 400: 45 % ≥ 40 %; bob 15 %
    const r = await messages(s, 'alice');
    assert.equal(r.status, 429);
    assert.match(
      (await json(r)).error.message,
      /its budget five_hour_share \(40 % of Z\.AI's five-hour window\)/,
    );
    const wait = Number(r.headers.get('retry-after'));
    assert.ok(wait > 0 && wait <= 5 * 3600, `Retry-After ${wait} is within the window`);
    assert.equal((await messages(s, 'bob')).status, 200);
    assert.equal(lines(s, 'Budget exceeded: alice has used all of five_hour_share').length, 1);
  } finally {
    await s.close();
  }
});
