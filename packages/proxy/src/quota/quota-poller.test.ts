// The poller against the simulated quota endpoint, on a virtual clock: the loop's waits and the
// sample times are the test's; only the sockets are real.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { createLogger } from '../log.ts';
import {
  afterPoll,
  createQuotaPoller,
  initialPollState,
  isFresh,
  type PollResult,
  type PollState,
} from './quota-poller.ts';

const KEY = 'zai-quota-KEY-0123456789abcdef';
const MIN = 60_000;

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream({ apiKey: KEY });
});
after(() => sim.close());
beforeEach(() => sim.reset());

function rig(opts: { timeoutMs?: number; staleAfterMs?: number; baseUrl?: string } = {}) {
  let now = Date.now();
  const logs: string[] = [];
  const polls: { result: PollResult; becameStale: boolean; state: PollState }[] = [];
  const sleeps: number[] = [];
  let wake: (() => void) | null = null;
  const poller = createQuotaPoller({
    baseUrl: opts.baseUrl ?? `${sim.url}/`,
    apiKey: KEY,
    intervalMs: MIN,
    timeoutMs: opts.timeoutMs ?? 2000,
    staleAfterMs: opts.staleAfterMs ?? 15 * MIN,
    clock: {
      now: () => now,
      // The loop's wait ends only when the test says so (or on stop).
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          sleeps.push(ms);
          if (signal.aborted) return reject(new Error('aborted'));
          wake = () => {
            now += ms;
            resolve();
          };
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
    },
    log: createLogger('debug', { write: (s: string) => void logs.push(s) }),
    onPoll: (state, result, becameStale) => {
      polls.push({ result, becameStale, state });
    },
  });
  return {
    poller,
    logs,
    polls,
    sleeps,
    advance: (ms: number) => {
      now += ms;
    },
    wake: () => wake?.(),
    poll: (scenario?: string) => {
      if (scenario !== undefined) sim.enqueue(`${scenario};route=quota`);
      return poller.pollOnce();
    },
  };
}

describe('quota poller: one poll', () => {
  test('healthy: GET with the raw key, Accept headers, one sample', async () => {
    const r = rig();
    assert.equal(await r.poll('ok;limit_type=CREDIT_LIMIT;five_hour_pct=37;weekly_pct=52'), 'success');
    const j = sim.journal.at(-1)!;
    assert.equal(j.method, 'GET');
    assert.equal(j.path, '/api/monitor/usage/quota/limit');
    assert.deepEqual(j.credential, { kind: 'raw', value: KEY });
    assert.equal(j.headers.accept, 'application/json');
    const s = r.poller.state().sample!;
    assert.deepEqual(
      s.windows.map((w) => [w.window, w.limitType, w.usedFraction]),
      [
        ['five_hour', 'CREDIT_LIMIT', 0.37],
        ['weekly', 'CREDIT_LIMIT', 0.52],
      ],
    );
    assert.equal(r.poller.state().lastOutcome, 'success');
    assert.match(r.logs.join(''), /quota poll ok: windows=2/);
  });

  test('exhausted and overdrawn windows read 1', async () => {
    const r = rig();
    await r.poll('ok;five_hour_pct=100;weekly_pct=137');
    assert.deepEqual(
      r.poller.state().sample!.windows.map((w) => w.usedFraction),
      [1, 1],
    );
  });

  for (const shape of ['absolute', 'percentage', 'remaining', 'current', 'reversed', 'mixed']) {
    test(`shape ${shape}: five-hour 40 %, weekly 25 %, by unit`, async () => {
      const r = rig();
      assert.equal(await r.poll(`ok;shape=${shape};five_hour_pct=40;weekly_pct=25`), 'success');
      const s = r.poller.state().sample!;
      assert.deepEqual(
        s.windows.map((w) => [w.window, w.usedFraction]),
        [
          ['five_hour', 0.4],
          ['weekly', 0.25],
        ],
      );
      assert.ok(s.windows.every((w) => w.resetAtMs !== null && w.resetAtMs > Date.now()));
      if (shape === 'current') assert.equal(s.tools?.limit, 1000);
      else assert.equal(s.tools, null);
    });
  }

  test('shape fresh: the unused five-hour window has no reset', async () => {
    const r = rig();
    await r.poll('ok;shape=fresh');
    assert.equal(r.poller.state().sample!.windows[0]!.resetAtMs, null);
  });

  const failures: [string, string, PollResult, RegExp][] = [
    [
      'provider refusal',
      'zai_error;envelope=flat;status=200;code=1001;msg=account%20secret-text',
      'error',
      /provider code 1001/,
    ],
    ['non-200', 'status;code=503', 'error', /unexpected status 503/],
    ['invalid JSON', 'invalid_json', 'malformed', /not valid JSON/],
    ['no limits', 'status;code=200;body={"code":200,"success":true,"data":{}}', 'malformed', /data\.limits/],
    [
      'wrong types',
      'status;code=200;body={"code":200,"data":{"limits":[{"type":3}]}}',
      'malformed',
      /no type/,
    ],
    ['oversized', 'ok;pad=70000', 'error', /read budget/],
  ];
  for (const [name, scenario, result, logged] of failures) {
    test(`${name} → ${result}, no provider text or key in the logs`, async () => {
      const r = rig();
      assert.equal(await r.poll(scenario), result);
      const text = r.logs.join('');
      assert.match(text, logged);
      assert.doesNotMatch(text, /secret-text|Operation successful/);
      assert.ok(!text.includes(KEY));
    });
  }

  test('a redirect is not followed: one request, an error', async () => {
    const r = rig();
    const result = await r.poll(`status;code=302;header=Location:${sim.url}/api/monitor/usage/quota/limit`);
    assert.equal(result, 'error');
    assert.equal(sim.journal.length, 1);
    assert.match(r.logs.join(''), /unexpected status 302/);
  });

  test('a reply slower than the timeout is an error', async () => {
    const r = rig({ timeoutMs: 100 });
    assert.equal(await r.poll('slow_headers;delay=5000'), 'error');
    assert.match(r.logs.join(''), /timed out/);
  });

  test('a closed port is an error with its code only', async () => {
    const r = rig({ baseUrl: 'http://127.0.0.1:1' });
    assert.equal(await r.poller.pollOnce(), 'error');
    assert.match(r.logs.join(''), /transport error \(ECONNREFUSED\)/);
  });
});

describe('quota poller: freshness across an outage', () => {
  test('last good sample kept, stale counted once per outage, re-armed by recovery', async () => {
    const r = rig({ staleAfterMs: 15 * MIN });
    await r.poll('ok;five_hour_pct=20');
    const good = r.poller.state().sample;
    for (let i = 0; i < 20; i++) {
      r.advance(MIN);
      await r.poll('status;code=503');
    }
    assert.equal(r.poller.state().sample, good);
    assert.equal(r.polls.filter((p) => p.becameStale).length, 1);
    // Stale from the poll at 16 min, not at 15 (the boundary is fresh).
    assert.equal(
      r.polls.findIndex((p) => p.becameStale),
      16,
    );
    r.advance(MIN);
    await r.poll('ok;five_hour_pct=30');
    assert.equal(r.poller.state().sample!.windows[0]!.usedFraction, 0.3);
    for (let i = 0; i < 20; i++) {
      r.advance(MIN);
      await r.poll('status;code=503');
    }
    assert.equal(r.polls.filter((p) => p.becameStale).length, 2);
  });

  test('a poller that never succeeded is stale from its first failure', () => {
    const s0 = initialPollState();
    const a = afterPoll(s0, { ok: false, outcome: 'error' }, 0, MIN);
    assert.equal(a.becameStale, true);
    const b = afterPoll(a.state, { ok: false, outcome: 'malformed' }, 1, MIN);
    assert.equal(b.becameStale, false);
    assert.equal(isFresh(b.state, 1, MIN), false);
  });
});

describe('quota poller: loop', () => {
  test('polls at once, then after each interval; stop() ends the loop and the poll in flight', async () => {
    const r = rig();
    sim.enqueue('ok;route=quota', 'ok;route=quota');
    r.poller.start();
    await sim.waitFor((j) => j.length === 1);
    while (r.sleeps.length === 0) await new Promise((res) => setImmediate(res));
    r.wake();
    await sim.waitFor((j) => j.length === 2);
    while (r.sleeps.length === 1) await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.sleeps, [MIN, MIN]);
    await r.poller.stop();
    assert.equal(sim.journal.length, 2);
    assert.equal(r.polls.length, 2);
  });

  test('stop() during a hanging poll returns without waiting for the timeout', async () => {
    const r = rig({ timeoutMs: 600_000 });
    sim.enqueue('slow_headers;delay=60000;route=quota');
    r.poller.start();
    await sim.waitFor((j) => j.length === 1);
    await r.poller.stop();
    assert.equal(r.polls.length, 1);
    assert.equal(r.polls[0]!.result, 'error');
  });
});
