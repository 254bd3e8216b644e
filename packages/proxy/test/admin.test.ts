// POST /admin/reset-rate-limit: off without ADMIN_TOKEN, bearer-token protected with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AnyJson, startStack } from './harness.ts';

const TOKEN = 'admin-token-0123456789';
const reset = (url: string, headers: Record<string, string> = {}, method = 'POST') =>
  fetch(`${url}/admin/reset-rate-limit`, { method, headers });

test('without ADMIN_TOKEN every admin path is a 404', async () => {
  const s = await startStack();
  try {
    const r = await reset(s.url, { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as AnyJson).error.type, 'not_found_error');
  } finally {
    await s.close();
  }
});

test('with ADMIN_TOKEN: 401 without the right bearer token (any length), 405 for GET, 200 resets the limits', async () => {
  const s = await startStack({ env: { ADMIN_TOKEN: TOKEN, CONCURRENCY_INITIAL: '4' } });
  try {
    const headerSets: Record<string, string>[] = [
      {},
      { authorization: 'Bearer x' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
    ];
    for (const h of headerSets) {
      const r = await reset(s.url, h);
      assert.equal(r.status, 401, JSON.stringify(h));
      assert.equal(((await r.json()) as AnyJson).error.type, 'authentication_error');
    }
    assert.equal((await reset(s.url, { authorization: `Bearer ${TOKEN}` }, 'GET')).status, 405);
    // Learn something first: a 1302 at level 1 cuts the limit to the floor.
    s.sim.enqueue('zai_error;status=429;code=1302', 'ok');
    const m = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(m.status, 200);
    const before = (await (await fetch(`${s.url}/health`)).json()) as AnyJson;
    assert.equal(before.concurrency.limit, 1);
    const r = await reset(s.url, { authorization: `bearer ${TOKEN}` });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { current_rate: 10, concurrency_limit: 4, status: 'reset' });
    const after = (await (await fetch(`${s.url}/health`)).json()) as AnyJson;
    assert.equal(after.concurrency.limit, 4);
    assert.equal(after.rate_limit.current_rate, 10);
    assert.ok(s.logs.some((l) => l.includes('Rate limiter reset')));
  } finally {
    await s.close();
  }
});
