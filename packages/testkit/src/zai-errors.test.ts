import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from './index.ts';
import { probe, received } from './test-client.ts';
import { beijingTime, zaiError } from './zai-errors.ts';

const OPENAI = '/api/paas/v4/chat/completions';
const ANTHROPIC = '/api/anthropic/v1/messages';
const BEARER = { authorization: 'Bearer k' };
const BODY = { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }] };

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream();
});
after(() => sim.close());
beforeEach(() => sim.reset());

async function send(scenario: string, extra: Record<string, string> = {}, path = OPENAI) {
  const headers = path === ANTHROPIC ? { 'x-api-key': 'k' } : BEARER;
  const p = probe(sim.url, path, {
    headers: { ...headers, 'x-sim-scenario': scenario, ...extra },
    body: BODY,
  });
  await p.done;
  const text = received(p).toString('utf8');
  return { status: p.status, headers: p.headers, text, json: text === '' ? null : JSON.parse(text) };
}

describe('zai_error envelopes', () => {
  for (const code of ['1302', '1303', '1305', '1308', '1310', '1312', '1113', '9999']) {
    test(`${code} in the nested envelope`, async () => {
      const r = await send(`zai_error;code=${code}`);
      assert.equal(r.status, 429);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(Object.keys(r.json), ['error']);
      assert.equal(r.json.error.code, code);
      assert.equal(typeof r.json.error.message, 'string');
      assert.equal(sim.journal[0]!.scenario, 'zai_error');
    });
  }

  test('flat envelope carries a numeric code, msg and success:false', async () => {
    const r = await send('zai_error;code=1303;envelope=flat;status=429');
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'msg', 'success']);
    assert.equal(r.json.code, 1303);
    assert.equal(r.json.success, false);
  });

  test('anthropic envelope types the error by status', async () => {
    const r = await send('zai_error;code=1312;envelope=anthropic;status=529', {}, ANTHROPIC);
    assert.equal(r.status, 529);
    assert.equal(r.json.type, 'error');
    assert.deepEqual(
      { type: r.json.error.type, code: r.json.error.code },
      { type: 'overloaded_error', code: '1312' },
    );
    const rl = await send('zai_error;code=1303;envelope=anthropic', {}, ANTHROPIC);
    assert.equal(rl.json.error.type, 'rate_limit_error');
  });

  test('1308 default message names the reset in UTC+8, one hour ahead', async () => {
    const before = Date.now();
    const r = await send('zai_error;code=1308');
    const m = /reset at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})$/.exec(r.json.error.message);
    assert.ok(m, r.json.error.message);
    assert.ok(r.json.error.message.startsWith('Usage limit reached for 5 hour.'));
    const resetMs = Date.parse(`${m[1]!.replace(' ', 'T')}+08:00`);
    assert.ok(Math.abs(resetMs - (before + 3_600_000)) < 5000);
  });

  test('retry hints: header seconds, HTTP date, body field; reset field and name', async () => {
    const r = await send('zai_error;code=1303;retry_after_header=7;retry_after_body=9');
    assert.equal(r.headers['retry-after'], '7');
    assert.equal(r.json.error.retry_after, 9);
    const d = await send('zai_error;code=1302;retry_after_header=30;retry_after_http_date=1');
    const at = Date.parse(d.headers['retry-after'] as string);
    assert.ok(at > Date.now() + 25_000 && at < Date.now() + 35_000);
    const now = Date.now();
    const reset = await send('zai_error;code=1308;reset=+3600;reset_field=resetAt;envelope=flat');
    assert.ok(Math.abs(reset.json.resetAt - (now + 3_600_000)) < 5000);
    const naive = await send('zai_error;code=1310;reset=2026-09-06 00:00:00');
    assert.equal(naive.json.error.reset_time, '2026-09-06 00:00:00');
    assert.ok(naive.json.error.message.endsWith('2026-09-06 00:00:00'));
  });

  test('msg= and status= pass through; quota provider error shape', async () => {
    const r = await send('zai_error;code=401;status=401;envelope=flat;msg=token%20expired%3B%20retry');
    assert.equal(r.status, 401);
    assert.equal(r.json.msg, 'token expired; retry');
  });
});

describe('status scenario', () => {
  test('plain errors in each route envelope with a recognisable message', async () => {
    const a = await send('status;code=400', {}, ANTHROPIC);
    assert.equal(a.status, 400);
    assert.deepEqual(a.json, {
      type: 'error',
      error: { type: 'invalid_request_error', message: 'sim: bad request' },
    });
    const o = await send('status;code=503');
    assert.equal(o.status, 503);
    assert.equal(o.json.error.message, 'sim: service unavailable');
    assert.equal(o.json.error.code, '503');
  });

  test('body= and header= are sent verbatim', async () => {
    const r = await send('status;code=500;body={"oops":true};header=X-Upstream-Error:boom');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { oops: true });
    assert.equal(r.headers['x-upstream-error'], 'boom');
  });
});

describe('zaiError (unit)', () => {
  test('numeric reset passes through as a number', () => {
    const e = zaiError({ name: 'zai_error', code: '1308', reset: '1790000000' }, 0);
    assert.equal(JSON.parse(e.body).error.reset_time, 1_790_000_000);
  });

  test('beijingTime is UTC+8 without a zone', () => {
    assert.equal(beijingTime(Date.parse('2026-09-05T16:00:00Z')), '2026-09-06 00:00:00');
  });
});
