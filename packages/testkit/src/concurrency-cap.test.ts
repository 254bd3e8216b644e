import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from './index.ts';
import { probe, received } from './test-client.ts';

const ANTHROPIC = '/api/anthropic/v1/messages';
const OPENAI = '/api/paas/v4/chat/completions';
const H = { 'x-api-key': 'sk-test' };
const BODY = { model: 'glm-4.5', stream: true, messages: [{ role: 'user', content: 'hi' }] };

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream({ maxInFlight: 2 });
});
after(() => sim.close());
beforeEach(() => {
  sim.setMaxInFlight(2);
  sim.reset();
});

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(pred());
};

test('beyond the cap of generating requests in flight, Z.AI answers 429 with code 1302 at once', async () => {
  const held = [
    probe(sim.url, ANTHROPIC, { headers: { ...H, 'x-sim-scenario': 'ok;gate=1' }, body: BODY }),
    probe(sim.url, OPENAI, {
      headers: { authorization: 'Bearer sk-test', 'x-sim-scenario': 'ok;gate=1' },
      body: BODY,
    }),
  ];
  await until(() => held.every((p) => p.reads.length > 0));
  assert.deepEqual(sim.inFlight(), { now: 2, peak: 2 });
  const third = probe(sim.url, ANTHROPIC, { headers: H, body: BODY });
  await third.done;
  assert.equal(third.status, 429);
  assert.equal(JSON.parse(received(third).toString()).error.code, '1302');
  assert.equal(sim.journal.at(-1)!.scenario, 'concurrency_cap');
  // Models and count_tokens generate nothing: never capped.
  const models = probe(sim.url, '/api/paas/v4/models', { headers: { authorization: 'Bearer sk-test' } });
  await models.done;
  assert.equal(models.status, 200);
  for (let i = 0; i < 40; i++) sim.advance();
  for (const p of held) await p.done;
  await until(() => sim.inFlight().now === 0);
  const again = probe(sim.url, ANTHROPIC, { headers: H, body: BODY });
  await again.done;
  assert.equal(again.status, 200, 'a slot is free again once a request ends');
});

test('the cap moves at run time; null removes it', async () => {
  sim.setMaxInFlight(0);
  const p = probe(sim.url, ANTHROPIC, { headers: H, body: BODY });
  await p.done;
  assert.equal(p.status, 429);
  sim.setMaxInFlight(null);
  const q = probe(sim.url, ANTHROPIC, { headers: H, body: BODY });
  await q.done;
  assert.equal(q.status, 200);
  assert.throws(() => sim.setMaxInFlight(-1), RangeError);
});
