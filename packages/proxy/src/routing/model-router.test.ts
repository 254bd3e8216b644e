// The router's step-down on a virtual clock: it follows scripted quota samples (stale ones trigger
// nothing) and logs each change once; a stepped-down conversation keeps its model until it has been
// idle for STICKY_IDLE_MS, and the sticky table stays bounded however many sessions pass.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Exchange } from '../exchange.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import type { PollState } from '../quota/index.ts';
import { createModelRouting, MAX_STICKY_CONVERSATIONS, STICKY_IDLE_MS } from './model-router.ts';
import { parseStepDown } from './model-rules.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MIN = 60_000;

/** A poller state whose five-hour window reads `used`, sampled at `atMs`. */
const quotaAt = (atMs: number, used: number, resetAtMs: number | null = null): PollState => ({
  sample: {
    fetchedAtMs: atMs,
    planTier: 'pro',
    windows: [
      {
        window: 'five_hour',
        limitType: 'TOKENS_LIMIT',
        usedFraction: used,
        resetAtMs,
        used: null,
        limit: null,
      },
    ],
    tools: null,
  },
  lastSuccessMs: atMs,
  lastOutcome: 'success',
  staleCounted: false,
});

function routing() {
  const clock: { now: number; used: number; quota?: () => PollState | null } = { now: T0, used: 0.95 };
  const logs: string[] = [];
  const r = createModelRouting({
    map: [],
    stepDown: parseStepDown('glm-4.6=glm-4.5-air@five_hour>0.9').rules,
    metrics: createMetrics('test'),
    log: createLogger('info', { write: (line: string) => logs.push(JSON.parse(line).msg) }),
    now: () => clock.now,
    // A fresh sample unless a test scripts the poller: only the clock and the window's use vary.
    quota: () => (clock.quota ? clock.quota() : quotaAt(clock.now, clock.used)),
    staleAfterMs: 15 * MIN,
    isPeak: () => false,
  })!;
  /** The model one request of `session` is served; `later` adds an assistant turn. */
  const serve = (session: string, later: boolean): string => {
    const json = {
      model: 'glm-4.6',
      messages: [
        { role: 'user', content: 'hi' },
        ...(later ? [{ role: 'assistant', content: 'hello' }] : []),
      ],
    };
    const x = {
      body: Buffer.from(JSON.stringify(json)),
      bodyEditRoom: false,
      json,
      model: 'glm-4.6',
      requestedModel: null,
      route: { kind: 'messages' },
      req: { headers: { 'x-claude-code-session-id': session } },
      res: { setHeader() {} },
      requestJson: () => json,
    } as unknown as Exchange;
    r.route(x);
    return x.model!;
  };
  const sticky = () => r.health().sticky_conversations as number;
  return { clock, serve, sticky, logs, health: () => r.health() };
}

describe('the step-down through the router, on a virtual clock with scripted quota samples', () => {
  test('on above the threshold, off below it, at the reset and on stale data; one log line per change', () => {
    const { clock, serve, logs, health } = routing();
    let sample: PollState | null = null;
    clock.quota = () => sample;
    const step = (minute: number, poll: PollState | null | undefined, want: string, why: string) => {
      clock.now = T0 + minute * MIN;
      if (poll !== undefined) sample = poll;
      assert.equal(serve(`m${minute}`, false), want, `minute ${minute}: ${why}`);
    };
    step(0, null, 'glm-4.6', 'no sample yet');
    step(1, quotaAt(T0 + MIN, 0.5), 'glm-4.6', 'half used');
    step(2, quotaAt(T0 + 2 * MIN, 0.93), 'glm-4.5-air', 'beyond 0.9');
    step(10, undefined, 'glm-4.5-air', 'the 8-minute-old sample is fresh');
    assert.equal((health().step_down as { active: boolean }[])[0]!.active, true);
    step(18, undefined, 'glm-4.6', 'the sample is 16 min old: stale, whatever it says');
    assert.equal((health().step_down as { used_fraction: number | null }[])[0]!.used_fraction, null);
    step(20, quotaAt(T0 + 20 * MIN, 0.97, T0 + 30 * MIN), 'glm-4.5-air', 'fresh again');
    step(30, undefined, 'glm-4.6', 'the window reset: unused before the next poll says so');
    step(31, quotaAt(T0 + 31 * MIN, 0.02), 'glm-4.6', 'the new window');
    assert.deepEqual(
      logs.filter((l) => l.startsWith('Model step-down')),
      [
        'Model step-down on: new conversations on glm-4.6 get glm-4.5-air (five_hour used 93%, threshold 90%)',
        'Model step-down off: new conversations on glm-4.6 get their model again (no fresh quota sample for five_hour)',
        'Model step-down on: new conversations on glm-4.6 get glm-4.5-air (five_hour used 97%, threshold 90%)',
        'Model step-down off: new conversations on glm-4.6 get their model again (five_hour used 0%, threshold 90%)',
      ],
    );
    clock.now = T0 + 42 * MIN;
    sample = quotaAt(clock.now, 0.1);
    assert.equal(serve('m2', true), 'glm-4.5-air', 'the conversation begun at minute 2 keeps its model');
  });
});

describe('the sticky step-down record', () => {
  test('kept while the conversation is used within STICKY_IDLE_MS, gone once it is idle longer', () => {
    const { clock, serve, sticky } = routing();
    assert.equal(serve('s1', false), 'glm-4.5-air', 'stepped down at its start');
    clock.used = 0.1; // the window cools: only the record keeps the conversation on the cheaper model
    clock.now += STICKY_IDLE_MS - 1;
    assert.equal(serve('s1', true), 'glm-4.5-air', 'used just before the idle time ends');
    clock.now += STICKY_IDLE_MS - 1;
    assert.equal(serve('s1', true), 'glm-4.5-air', 'each use starts the idle time again');
    assert.equal(sticky(), 1);
    clock.now += STICKY_IDLE_MS;
    assert.equal(serve('s1', true), 'glm-4.6', 'idle for STICKY_IDLE_MS: forgotten');
    assert.equal(sticky(), 0);
  });

  test('an expired record is dropped when another conversation is recorded, not only when looked up', () => {
    const { clock, serve, sticky } = routing();
    serve('old-1', false);
    serve('old-2', false);
    clock.now += STICKY_IDLE_MS / 2;
    serve('recent', false);
    assert.equal(sticky(), 3);
    clock.now += STICKY_IDLE_MS / 2;
    serve('new', false);
    assert.equal(sticky(), 2, 'old-1 and old-2 expired; recent and new remain');
    clock.used = 0.1;
    assert.equal(serve('recent', true), 'glm-4.5-air');
  });

  test(`bounded at MAX_STICKY_CONVERSATIONS (${MAX_STICKY_CONVERSATIONS}): the least recently used goes first`, () => {
    const { clock, serve, sticky } = routing();
    serve('first', false);
    serve('kept', false);
    for (let i = 0; i < MAX_STICKY_CONVERSATIONS - 2; i++) serve(`s${i}`, false);
    assert.equal(sticky(), MAX_STICKY_CONVERSATIONS);
    clock.now += MIN;
    assert.equal(serve('kept', true), 'glm-4.5-air', 'used again: now the most recent');
    for (let i = 0; i < 2 * MAX_STICKY_CONVERSATIONS; i++) {
      serve(`more${i}`, false);
      if (i === 0) {
        clock.used = 0.1;
        assert.equal(serve('first', true), 'glm-4.6', 'the least recently used was forgotten');
        assert.equal(serve('kept', true), 'glm-4.5-air');
        clock.used = 0.95;
      }
    }
    assert.equal(sticky(), MAX_STICKY_CONVERSATIONS, 'never more, however many sessions pass');
  });
});
