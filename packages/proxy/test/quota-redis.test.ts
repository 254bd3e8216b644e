// Two replicas of one Z.AI account sharing the quota gate through a real redis-server: the replica
// that hears the 1308 closes the gate, the other one closes it too (within its refresh interval)
// and sends nothing until the reset; both resume after it. Needs redis-server (Debian package).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeClock, json, type Stack, startProxy, startStack } from './harness.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

const H = 3_600_000;
const BODY = JSON.stringify({
  model: 'glm-4.6',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'hi' }],
});
const post = (s: Stack) =>
  fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json' },
  });

const clock = fakeClock();

let redis: RedisServer;
let a: Stack;
let b: Stack;
before(async () => {
  redis = await startRedisServer();
  const env = { REDIS_URL: redis.url, MAX_RETRIES: '1' };
  a = await startStack({ env, clock });
  b = await startProxy(a.sim, { env, clock });
});
after(async () => {
  await b.proxy.shutdown(0);
  await a.close();
  await redis.close();
});

/** Polls a replica's /health until its gate is closed (the shared copy refreshes every second). */
async function gateClosedOn(s: Stack): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const h = await json(await fetch(`${s.url}/health`));
    if (h.quota.gate.open === false) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the gate never closed on the other replica');
}

test('a 1308 on one replica gates both until the reset', async () => {
  assert.equal((await post(b)).status, 200); // b knows the account before the gate closes
  const reset = clock.now() + H;
  a.sim.enqueue(`zai_error;status=429;code=1308;reset=${reset}`);
  assert.equal((await post(a)).status, 429);
  await gateClosedOn(b);
  const sent = a.sim.journal.length;
  for (const s of [a, b, b, a]) {
    const r = await post(s);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-should-retry'), 'false');
    assert.equal(r.headers.get('retry-after'), '3600');
  }
  assert.equal(a.sim.journal.length, sent, 'neither replica sent a request while the gate was closed');
  const keys = await redis.client().keys('*quota-gate*');
  assert.equal(keys.length, 1);
  clock.advance(H);
  assert.equal((await post(b)).status, 200);
  assert.equal((await post(a)).status, 200);
  assert.equal(a.sim.journal.length, sent + 2);
});
