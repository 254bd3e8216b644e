import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from './index.ts';
import { probe, received, sha256, sseEvents } from './test-client.ts';

const ANTHROPIC = '/api/anthropic/v1/messages';
const OPENAI = '/api/paas/v4/chat/completions';
const QUOTA = '/api/monitor/usage/quota/limit';
const XKEY = { 'x-api-key': 'sk-test' };
const BEARER = { authorization: 'Bearer sk-test' };
const MESSAGES = [{ role: 'user', content: 'Say hello to the sim.' }];
const EXPECTED_INPUT = Math.ceil(Buffer.byteLength(JSON.stringify(MESSAGES)) / 4);

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream({ tokensPerReply: 6 });
});
after(() => sim.close());
beforeEach(() => sim.reset());

async function call(path: string, headers: Record<string, string>, body?: unknown, method?: string) {
  const p = probe(sim.url, path, { headers, body, ...(method ? { method } : {}) });
  await p.done;
  assert.equal(p.error, null);
  return { status: p.status, headers: p.headers, text: received(p).toString('utf8'), raw: received(p) };
}

describe('anthropic messages', () => {
  test('non-stream Message JSON with deterministic usage, journalled', async () => {
    const r = await call(ANTHROPIC, XKEY, { model: 'glm-4.5', messages: MESSAGES });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const m = JSON.parse(r.text);
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'glm-4.5');
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.stop_sequence, null);
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text.split(' ').length, 6);
    assert.deepEqual(m.usage, {
      input_tokens: EXPECTED_INPUT,
      output_tokens: 6,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    const [e] = sim.journal;
    assert.ok(e);
    assert.equal(e.method, 'POST');
    assert.equal(e.path, ANTHROPIC);
    assert.deepEqual(e.credential, { kind: 'x-api-key', value: 'sk-test' });
    assert.deepEqual((e.json as { messages: unknown }).messages, MESSAGES);
    assert.equal(e.scenario, 'ok');
    assert.equal(e.status, 200);
    assert.deepEqual(e.reportedUsage, { input: EXPECTED_INPUT, output: 6, cache_read: 0, cache_write: 0 });
    assert.equal(e.responseBytes, r.raw.length);
    assert.equal(e.responseSha256, sha256(r.raw));
    assert.equal(e.aborted, false);
  });

  test('SSE: Z.AI zero usage in message_start, the real usage in message_delta', async () => {
    const r = await call(
      ANTHROPIC,
      { ...XKEY, 'x-sim-scenario': 'ok;input=40;output=9;cache_read=30' },
      {
        model: 'glm-4.6',
        messages: MESSAGES,
        stream: true,
      },
    );
    assert.equal(r.headers['content-type'], 'text/event-stream');
    assert.ok(r.text.endsWith('\n\n'));
    const events = sseEvents(r.text);
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 3), ['message_start', 'content_block_start', 'ping']);
    assert.deepEqual(names.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data));
    assert.equal(deltas.length, 6);
    assert.ok(deltas.every((d) => d.delta.type === 'text_delta'));
    for (const e of events) assert.equal(JSON.parse(e.data).type, e.event);
    const start = JSON.parse(events[0]!.data);
    assert.deepEqual(start.message.usage, {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    const md = JSON.parse(events.at(-2)!.data);
    assert.deepEqual(md.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.deepEqual(md.usage, { input_tokens: 40, output_tokens: 9, cache_read_input_tokens: 30 });
    const e = sim.journal[0]!;
    assert.deepEqual(e.reportedUsage, { input: 40, output: 9, cache_read: 30, cache_write: 0 });
    assert.equal(e.responseSha256, sha256(r.raw));
  });

  test('cache_write shows in JSON usage and, only when set, in message_delta', async () => {
    const scenario = { 'x-sim-scenario': 'ok;cache_write=5;events=2' };
    const j = await call(ANTHROPIC, { ...XKEY, ...scenario }, { messages: MESSAGES });
    assert.equal(JSON.parse(j.text).usage.cache_creation_input_tokens, 5);
    const s = await call(ANTHROPIC, { ...XKEY, ...scenario }, { messages: MESSAGES, stream: true });
    const events = sseEvents(s.text);
    assert.equal(events.filter((e) => e.event === 'content_block_delta').length, 2);
    assert.equal(JSON.parse(events.at(-2)!.data).usage.cache_creation_input_tokens, 5);
    assert.equal(sim.journal[1]!.reportedUsage?.cache_write, 5);
  });

  test('no_usage=1 omits usage everywhere', async () => {
    const h = { ...XKEY, 'x-sim-scenario': 'ok;no_usage=1' };
    const j = await call(ANTHROPIC, h, { messages: MESSAGES });
    assert.equal('usage' in JSON.parse(j.text), false);
    const s = await call(ANTHROPIC, h, { messages: MESSAGES, stream: true });
    const events = sseEvents(s.text).map((e) => JSON.parse(e.data));
    assert.equal('usage' in events[0].message, false);
    assert.equal('usage' in events.at(-2), false);
    assert.deepEqual(
      sim.journal.map((e) => e.reportedUsage),
      [null, null],
    );
  });

  test('count_tokens answers input_tokens; count_tokens_unsupported answers 404', async () => {
    const ok = await call(`${ANTHROPIC}/count_tokens`, XKEY, { model: 'glm-4.6', messages: MESSAGES });
    assert.deepEqual(JSON.parse(ok.text), { input_tokens: EXPECTED_INPUT });
    const no = await call(
      `${ANTHROPIC}/count_tokens`,
      { ...XKEY, 'x-sim-scenario': 'count_tokens_unsupported' },
      {
        messages: MESSAGES,
      },
    );
    assert.equal(no.status, 404);
    assert.equal(JSON.parse(no.text).error.type, 'not_found_error');
  });
});

describe('openai chat completions', () => {
  test('non-stream: prompt_tokens counts the cached part', async () => {
    const r = await call(
      OPENAI,
      { ...BEARER, 'x-sim-scenario': 'ok;input=10;cache_read=4;output=3' },
      {
        model: 'glm-4.6',
        messages: MESSAGES,
      },
    );
    const c = JSON.parse(r.text);
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'glm-4.6');
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(c.usage, {
      prompt_tokens: 14,
      completion_tokens: 3,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
    });
    assert.deepEqual(sim.journal[0]!.reportedUsage, { input: 10, output: 3, cache_read: 4, cache_write: 0 });
    assert.deepEqual(sim.journal[0]!.credential, { kind: 'bearer', value: 'sk-test' });
  });

  test('stream without include_usage: no usage chunk, ends with [DONE]', async () => {
    const r = await call(OPENAI, BEARER, { messages: MESSAGES, stream: true });
    assert.equal(r.headers['content-type'], 'text/event-stream');
    assert.ok(r.text.endsWith('data: [DONE]\n\n'));
    const chunks = sseEvents(r.text)
      .slice(0, -1)
      .map((e) => JSON.parse(e.data));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && !('usage' in c)));
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    assert.equal(text.split(' ').length, 6);
    assert.equal(sim.journal[0]!.reportedUsage, null);
  });

  test('stream with include_usage: one usage chunk with choices [] before [DONE]', async () => {
    const r = await call(OPENAI, BEARER, {
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = sseEvents(r.text);
    assert.equal(events.at(-1)!.data, '[DONE]');
    const usageChunk = JSON.parse(events.at(-2)!.data);
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.prompt_tokens, EXPECTED_INPUT);
    assert.equal(usageChunk.usage.completion_tokens, 6);
    assert.deepEqual(sim.journal[0]!.reportedUsage, {
      input: EXPECTED_INPUT,
      output: 6,
      cache_read: 0,
      cache_write: 0,
    });
    assert.equal(sim.journal[0]!.responseSha256, sha256(r.raw));
  });

  test('no_usage=1 drops the usage chunk even when asked', async () => {
    const r = await call(
      OPENAI,
      { ...BEARER, 'x-sim-scenario': 'ok;no_usage=1' },
      {
        messages: MESSAGES,
        stream: true,
        stream_options: { include_usage: true },
      },
    );
    assert.ok(!r.text.includes('"usage"'));
  });

  test('models lists glm ids', async () => {
    const r = await call('/api/paas/v4/models', BEARER);
    const body = JSON.parse(r.text);
    assert.equal(body.object, 'list');
    assert.ok(body.data.some((m: { id: string }) => m.id === 'glm-4.6'));
    for (const m of body.data)
      assert.deepEqual(Object.keys(m).sort(), ['created', 'id', 'object', 'owned_by']);
  });
});

describe('auth', () => {
  test('anthropic refuses a Bearer token, openai refuses x-api-key', async () => {
    const a = await call(ANTHROPIC, BEARER, { messages: MESSAGES });
    assert.equal(a.status, 401);
    assert.deepEqual(Object.keys(JSON.parse(a.text)), ['type', 'error']);
    assert.equal(JSON.parse(a.text).error.type, 'authentication_error');
    const o = await call(OPENAI, XKEY, { messages: MESSAGES });
    assert.equal(o.status, 401);
    const err = JSON.parse(o.text).error;
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.code, '401');
    assert.equal(sim.journal[0]!.scenario, null);
  });

  test('with apiKey set, only that key passes', async () => {
    const strict = await startSimUpstream({ apiKey: 'right' });
    try {
      const wrong = probe(strict.url, ANTHROPIC, { headers: { 'x-api-key': 'wrong' }, body: {} });
      const right = probe(strict.url, OPENAI, { headers: { authorization: 'Bearer right' }, body: {} });
      await Promise.all([wrong.done, right.done]);
      assert.equal(wrong.status, 401);
      assert.equal(right.status, 200);
    } finally {
      await strict.close();
    }
  });

  test('quota takes the raw key in Authorization', async () => {
    assert.equal((await call(QUOTA, { authorization: 'sk-raw' })).status, 200);
    assert.deepEqual(sim.journal[0]!.credential, { kind: 'raw', value: 'sk-raw' });
    const none = await call(QUOTA, {});
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).success, false);
    assert.deepEqual(sim.journal[1]!.credential, { kind: 'none', value: null });
  });

  test('unknown paths answer 404 JSON', async () => {
    const r = await call('/v1/nothing?x=1', XKEY);
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(sim.journal[0]!.query, 'x=1');
  });
});

describe('quota', () => {
  test('follows the monitor API schema and counts the tokens served', async () => {
    await call(ANTHROPIC, { ...XKEY, 'x-sim-scenario': 'ok;input=100;output=50' }, { messages: MESSAGES });
    const body = JSON.parse((await call(QUOTA, { authorization: 'k' })).text);
    assert.equal(body.code, 200);
    assert.equal(body.msg, 'Operation successful');
    assert.equal(body.success, true);
    assert.equal(body.data.level, 'pro');
    const [five, week] = body.data.limits;
    assert.equal(five.type, 'TOKENS_LIMIT');
    assert.equal(five.unit, 3);
    assert.equal(five.number, 5);
    assert.equal(week.unit, 6);
    assert.equal(five.currentValue, 150);
    assert.equal(five.remaining, five.usage - 150);
    for (const l of [five, week]) {
      assert.equal(typeof l.percentage, 'number');
      assert.ok(l.nextResetTime > Date.now() && l.nextResetTime <= Date.now() + 7 * 86_400_000);
    }
  });

  test('shape= gives every payload shape seen in the wild; pad= an oversized body', async () => {
    const get = async (sc: string) =>
      JSON.parse((await call(QUOTA, { authorization: 'k', 'x-sim-scenario': sc })).text);
    const pct = (await get('ok;shape=percentage;five_hour_pct=40')).data.limits[0];
    assert.deepEqual(Object.keys(pct).sort(), ['nextResetTime', 'number', 'percentage', 'type', 'unit']);
    assert.equal(pct.percentage, 40);
    const rem = (await get('ok;shape=remaining;weekly_pct=25')).data.limits[1];
    assert.equal(rem.usage - rem.remaining, rem.usage / 4);
    assert.equal(rem.currentValue, undefined);
    const cur = (await get('ok;shape=current')).data.limits;
    assert.deepEqual(
      cur.map((l: { type: string; unit: number }) => [l.type, l.unit]),
      [
        ['TOKENS_LIMIT', 3],
        ['TOKENS_LIMIT', 6],
        ['TIME_LIMIT', 5],
        ['FUTURE_LIMIT', 3],
      ],
    );
    const rev = (await get('ok;shape=reversed')).data.limits;
    assert.deepEqual(
      rev.map((l: { unit: number; number: number }) => [l.unit, l.number]),
      [
        [6, 5],
        [3, 1],
      ],
    );
    const mixed = (await get('ok;shape=mixed;five_hour_pct=30')).data.limits;
    assert.deepEqual(
      mixed.map((l: { type: string }) => l.type),
      ['TOKENS_LIMIT', 'CREDIT_LIMIT', 'TOKENS_LIMIT', 'CREDIT_LIMIT'],
    );
    const fresh = (await get('ok;shape=fresh')).data.limits[0];
    assert.equal(fresh.percentage, 0);
    assert.equal(fresh.nextResetTime, undefined);
    const big = await call(QUOTA, { authorization: 'k', 'x-sim-scenario': 'ok;pad=70000' });
    assert.ok(big.text.length > 70000);
    assert.equal((await call(QUOTA, { authorization: 'k', 'x-sim-scenario': 'ok;shape=round' })).status, 400);
  });

  test('only queued scenarios pinned with route=quota reach the quota route', async () => {
    sim.enqueue('status;code=503', 'ok;route=quota;limit_type=CREDIT_LIMIT;five_hour_pct=37;level=max');
    const q = JSON.parse((await call(QUOTA, { authorization: 'k' })).text);
    assert.equal(q.data.level, 'max');
    assert.equal(q.data.limits[0].type, 'CREDIT_LIMIT');
    assert.equal(q.data.limits[0].percentage, 37);
    assert.equal((await call(OPENAI, BEARER, { messages: MESSAGES })).status, 503);
  });
});
