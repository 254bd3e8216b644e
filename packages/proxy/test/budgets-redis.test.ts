// Two replicas of one proxy enforce one budget through a real redis-server: spending on either
// counts against the same amount, both refuse the client once it is spent, and each warning is
// written once across both replicas. Needs redis-server (Debian package).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeClock, json, type Stack, startProxy, startStack } from './harness.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

const ADMIN = 'admin-token-0123456789';
const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789';

const post = (s: Stack, key: string) =>
  fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ model: 'glm-4.6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
const report = async (s: Stack) =>
  json(await fetch(`${s.url}/admin/budgets`, { headers: { authorization: `Bearer ${ADMIN}` } }));
const aliceOn = async (s: Stack) =>
  (await report(s)).clients.find((c: { client: string }) => c.client === 'alice');

const clock = fakeClock(Date.parse('2026-12-01T09:00:00Z'));
let redis: RedisServer;
let a: Stack;
let b: Stack;
before(async () => {
  redis = await startRedisServer();
  const env = {
    REDIS_URL: redis.url,
    PROXY_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    ADMIN_TOKEN: ADMIN,
    CLIENT_BUDGETS: JSON.stringify({ clients: { alice: { tokens_per_day: 1000 } } }),
  };
  a = await startStack({ env, clock });
  b = await startProxy(a.sim, { env, clock });
});
after(async () => {
  await b.proxy.shutdown(0);
  await a.close();
  await redis.close();
});

test('spending on both replicas counts against one budget, and both refuse once it is spent', async () => {
  a.sim.enqueue('ok;input=600;output=0');
  assert.equal((await post(a, ALICE)).status, 200);
  assert.equal((await aliceOn(a)).limits[0].used, 600);
  assert.equal((await aliceOn(b)).limits[0].used, 600, 'the other replica reads the shared amount');
  a.sim.enqueue('ok;input=400;output=0');
  assert.equal((await post(b, ALICE)).status, 200);
  assert.equal((await aliceOn(b)).limits[0].used, 1000);
  // a learns of b's spending through the shared store (refreshed every second).
  for (let i = 0; i < 300 && (await aliceOn(a)).refused !== true; i++)
    await new Promise((r) => setTimeout(r, 20));
  const sent = a.sim.journal.length;
  for (const s of [a, b, a]) {
    const r = await post(s, ALICE);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-should-retry'), 'false');
  }
  assert.equal(a.sim.journal.length, sent, 'neither replica sent alice’s requests');
  assert.equal((await post(a, BOB)).status, 200);
  const logs = [...a.logs, ...b.logs].map((l) => JSON.parse(l).msg as string);
  assert.equal(logs.filter((m) => m.startsWith('Budget warning: alice has used 80 %')).length, 1);
  assert.equal(logs.filter((m) => m.startsWith('Budget warning: alice has used 95 %')).length, 1);
  assert.equal(logs.filter((m) => m.startsWith('Budget exceeded: alice')).length, 1);
  const keys = await redis.client().keys('*budget:alice:*');
  assert.deepEqual(keys, ['zai-proxy:sum:budget:alice:day:2026-12-01']);
});
