import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from './index.ts';
import { probe, received, sha256, sseEvents, until } from './test-client.ts';

const ANTHROPIC = '/api/anthropic/v1/messages';
const OPENAI = '/api/paas/v4/chat/completions';
const XKEY = { 'x-api-key': 'k' };
const BEARER = { authorization: 'Bearer k' };
const BODY = { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }] };
const STREAM = { ...BODY, stream: true };

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream();
});
after(() => sim.close());
beforeEach(() => sim.reset());

function anthropic(scenario: string | null, body: unknown = STREAM, extra: Record<string, string> = {}) {
  const headers =
    scenario === null ? { ...XKEY, ...extra } : { ...XKEY, 'x-sim-scenario': scenario, ...extra };
  return probe(sim.url, ANTHROPIC, { headers, body });
}

describe('fail_then_ok', () => {
  test('header form counts per (scenario, x-request-id)', async () => {
    const statuses: number[] = [];
    for (const id of ['a', 'a', 'b', 'a', 'b', 'b']) {
      const p = anthropic('fail_then_ok;times=2;with=zai_error;code=1302', BODY, { 'x-request-id': id });
      await p.done;
      statuses.push(p.status);
    }
    assert.deepEqual(statuses, [429, 429, 429, 200, 429, 200]);
    assert.deepEqual(
      sim.journal.map((e) => e.scenario),
      ['zai_error', 'zai_error', 'zai_error', 'ok', 'zai_error', 'ok'],
    );
  });

  test('enqueued form expands to N failures then ok, after earlier entries', async () => {
    sim.enqueue('status;code=500', 'fail_then_ok;times=2;with=empty');
    const statuses: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      const p = anthropic(null, BODY);
      await p.done;
      statuses.push([p.status, received(p).length > 0 ? 1 : 0]);
    }
    assert.deepEqual(statuses, [
      [500, 1],
      [200, 0],
      [200, 0],
      [200, 1],
      [200, 1],
    ]);
  });

  test('a header wins over the queue; a bad header or enqueue is refused', async () => {
    sim.enqueue('status;code=503');
    const h = anthropic('ok', BODY);
    await h.done;
    assert.equal(h.status, 200);
    const bad = anthropic('no_such_thing', BODY);
    await bad.done;
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(received(bad).toString()).error.message, /^sim: invalid x-sim-scenario/);
    assert.throws(() => sim.enqueue('ok;typo=1'), { code: 'SIM_SCENARIO_INVALID' });
    const q = anthropic(null, BODY);
    await q.done;
    assert.equal(q.status, 503);
  });
});

describe('delivery shape', () => {
  test('chunk=1 delivers every byte, in many small reads, hashed like what arrived', async () => {
    const whole = anthropic('ok;events=3');
    const tiny = anthropic('ok;events=3;chunk=1');
    await Promise.all([whole.done, tiny.done]);
    const normalise = (b: Buffer) => b.toString('utf8').replace(/msg_sim_\d+/g, 'msg_sim_N');
    assert.equal(normalise(received(tiny)), normalise(received(whole)));
    assert.ok(tiny.reads.length > 50, `only ${tiny.reads.length} reads`);
    const e = sim.journal.find(
      (j) => j.scenario === 'ok' && (j.headers['x-sim-scenario'] as string).includes('chunk'),
    );
    assert.equal(e?.responseSha256, sha256(received(tiny)));
  });

  test('crlf=1 ends every line with \\r\\n', async () => {
    const p = anthropic('ok;crlf=1');
    await p.done;
    const text = received(p).toString('utf8');
    assert.ok(text.includes('\r\n\r\n'));
    assert.equal(text.replace(/\r\n/g, '').includes('\n'), false);
    assert.equal(sseEvents(text).at(-1)!.event, 'message_stop');
  });

  test('empty, invalid_json and empty_stream', async () => {
    const empty = anthropic('empty', BODY);
    const invalid = anthropic('invalid_json', BODY);
    const es = anthropic('empty_stream');
    await Promise.all([empty.done, invalid.done, es.done]);
    assert.deepEqual(
      [empty.status, received(empty).length, empty.headers['content-type']],
      [200, 0, 'application/json'],
    );
    assert.equal(received(invalid).toString(), '{"id": "trunc');
    assert.deepEqual(
      [es.status, received(es).length, es.headers['content-type']],
      [200, 0, 'text/event-stream'],
    );
  });

  test('huge: N bytes of text in JSON, ~N bytes of deltas in a stream', async () => {
    const j = anthropic('huge;bytes=200000', BODY);
    const s = probe(sim.url, OPENAI, {
      headers: { ...BEARER, 'x-sim-scenario': 'huge;bytes=200000' },
      body: STREAM,
    });
    await Promise.all([j.done, s.done]);
    assert.equal(JSON.parse(received(j).toString()).content[0].text.length, 200_000);
    const chunks = sseEvents(received(s).toString()).slice(0, -1);
    const text = chunks.map((c) => JSON.parse(c.data).choices[0]?.delta.content ?? '').join('');
    assert.equal(text.length, 200_000);
    assert.ok(chunks.length > 100);
  });

  test('slow_headers waits before the head, then answers ok', async () => {
    const t0 = Date.now();
    const p = anthropic('slow_headers;delay=120', BODY);
    await p.done;
    assert.equal(p.status, 200);
    assert.ok(Date.now() - t0 >= 100);
    assert.equal(sim.journal[0]!.scenario, 'slow_headers');
  });
});

describe('gate, stall and resets', () => {
  test('gate=1: one event at a time, each released by advance()', async () => {
    const p = anthropic('ok;gate=1;events=2');
    const count = () => sseEvents(received(p).toString()).length;
    await until(() => count() === 1);
    assert.equal(sseEvents(received(p).toString())[0]!.event, 'message_start');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(count(), 1, 'the sim must hold the second event until advance()');
    sim.advance();
    await until(() => count() === 2);
    for (let i = 0; i < 10; i++) sim.advance(); // extra releases are banked, then cleared by reset()
    await p.done;
    assert.equal(sseEvents(received(p).toString()).at(-1)!.event, 'message_stop');
    assert.equal(sim.journal[0]!.aborted, false);
  });

  test('a gated stream notices the client going away', async () => {
    const p = anthropic('ok;gate=1');
    await until(() => p.reads.length > 0);
    p.req.destroy();
    await sim.waitFor((j) => j[0]?.aborted === true);
    assert.equal(sim.journal[0]!.responseSha256, sha256(received(p)));
  });

  test('stall;after=2 stops writing but holds the connection until the client leaves', async () => {
    const p = anthropic('stall;after=2');
    await until(() => sseEvents(received(p).toString()).length === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sseEvents(received(p).toString()).length, 2);
    assert.equal(sim.journal[0]!.responseSha256, '', 'still open');
    p.req.destroy();
    await sim.waitFor((j) => j[0]?.aborted === true);
  });

  test('reset_mid_stream;after=3 destroys the connection after three events', async () => {
    const p = anthropic('reset_mid_stream;after=3');
    await p.done;
    assert.equal(p.status, 200);
    const events = sseEvents(received(p).toString());
    assert.equal(events.length, 3);
    await sim.waitFor((j) => j[0]?.responseSha256 !== '');
    const e = sim.journal[0]!;
    assert.equal(e.status, 200);
    assert.equal(e.aborted, false);
    assert.equal(e.reportedUsage, null, 'the usage event never went out');
    assert.equal(e.responseSha256, sha256(received(p)));
  });

  test('reset_mid_stream on a JSON reply sends half the promised body', async () => {
    const p = anthropic('reset_mid_stream', BODY);
    await p.done;
    const got = received(p).length;
    assert.ok(got > 0 && got < Number(p.headers['content-length']));
  });

  test('reset_before_headers destroys the socket and journals status 0 with the body', async () => {
    const p = anthropic('reset_before_headers', BODY);
    await p.done;
    assert.ok(p.error, 'the client sees a connection error');
    await sim.waitFor((j) => j[0]?.responseSha256 !== '');
    const e = sim.journal[0]!;
    assert.equal(e.status, 0);
    assert.deepEqual(e.json, BODY);
    assert.equal(e.responseBytes, 0);
  });

  test('reset() clears journal and queue; close() ends a stalled stream', async () => {
    sim.enqueue('status;code=500');
    sim.reset();
    const p = anthropic(null, BODY);
    await p.done;
    assert.equal(p.status, 200);
    assert.equal(sim.journal.length, 1);
    const other = await startSimUpstream();
    const s = probe(other.url, ANTHROPIC, { headers: { ...XKEY, 'x-sim-scenario': 'stall' }, body: STREAM });
    await until(() => s.reads.length > 0);
    await other.close();
    await s.done;
    assert.equal(other.journal[0]!.aborted, false);
  });
});
