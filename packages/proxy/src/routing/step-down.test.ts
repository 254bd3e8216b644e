import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PollState, QuotaSnapshot } from '../quota/index.ts';
import { parseStepDown, type StepDownRule } from './model-rules.ts';
import { type Conditions, decideStepDown, isConversationStart, usedFraction } from './step-down.ts';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const STALE = 15 * MIN;

const rules = (text: string): StepDownRule[] => {
  const r = parseStepDown(text);
  assert.deepEqual(r.errors, []);
  return r.rules;
};
const FIVE = rules('glm-4.6=glm-4.5-air@five_hour>0.9');
const PEAK = rules('glm-4.6=glm-4.5-air@peak');

/** The poller's state after a good poll at `atMs` reading these windows. */
function polled(
  atMs: number,
  five: number,
  fiveResetAt: number | null = atMs + 2 * H,
  weekly = 0.1,
): PollState {
  const sample: QuotaSnapshot = {
    fetchedAtMs: atMs,
    planTier: 'pro',
    windows: [
      {
        window: 'five_hour',
        limitType: 'TOKENS_LIMIT',
        usedFraction: five,
        resetAtMs: fiveResetAt,
        used: null,
        limit: null,
      },
      {
        window: 'weekly',
        limitType: 'TOKENS_LIMIT',
        usedFraction: weekly,
        resetAtMs: atMs + 72 * H,
        used: null,
        limit: null,
      },
    ],
    tools: null,
  };
  return { sample, lastSuccessMs: atMs, lastOutcome: 'success', staleCounted: false };
}

const at = (nowMs: number, quota: PollState | null, peak = false): Conditions => ({
  nowMs,
  quota,
  staleAfterMs: STALE,
  peak,
});

describe('decideStepDown on a virtual clock with scripted quota samples', () => {
  test('turns on above the threshold, off below it and when the window resets; stale data triggers nothing', () => {
    // A poller polling every minute; each step is (minutes since T0, the sample it holds, expected).
    let quota: PollState | null = null;
    const script: [number, () => void, boolean, string][] = [
      [0, () => (quota = null), false, 'no sample yet'],
      [1, () => (quota = polled(T0 + 1 * MIN, 0.5)), false, '50 % used'],
      [2, () => (quota = polled(T0 + 2 * MIN, 0.9)), false, 'exactly at the threshold'],
      [3, () => (quota = polled(T0 + 3 * MIN, 0.93)), true, 'beyond it'],
      [10, () => {}, true, 'the sample is 7 min old: still fresh'],
      [18, () => {}, true, '15 min old: fresh at the boundary'],
      [19, () => {}, false, '16 min old: stale, whatever it says'],
      [20, () => (quota = polled(T0 + 20 * MIN, 0.97, T0 + 30 * MIN)), true, 'fresh again'],
      [30, () => {}, false, 'the window reset at 30 min: unused until the next poll says otherwise'],
      [31, () => (quota = polled(T0 + 31 * MIN, 0.02)), false, 'the new window'],
    ];
    for (const [minute, poll, want, why] of script) {
      poll();
      const v = decideStepDown({
        ...at(T0 + minute * MIN, quota),
        candidates: FIVE,
        start: true,
        earlier: undefined,
      });
      assert.equal(v.rule !== null, want, `minute ${minute}: ${why}`);
      assert.equal(v.reason, want ? 'condition' : 'no_condition');
    }
  });

  test('a window Z.AI did not report, or one with no reset known, reads as its sample says', () => {
    const q = polled(T0, 0.95, null);
    assert.equal(usedFraction('five_hour', at(T0 + 10 * H, { ...q, lastSuccessMs: T0 + 10 * H })), 0.95);
    const noFive: PollState = { ...q, sample: { ...q.sample!, windows: q.sample!.windows.slice(1) } };
    assert.equal(usedFraction('five_hour', at(T0, noFive)), null);
    assert.equal(
      decideStepDown({ ...at(T0, noFive), candidates: FIVE, start: true, earlier: undefined }).rule,
      null,
    );
  });

  test('@peak follows the peak flag it is given', () => {
    const d = (peak: boolean) =>
      decideStepDown({ ...at(T0, null, peak), candidates: PEAK, start: true, earlier: undefined }).rule;
    assert.equal(d(true)?.target, 'glm-4.5-air');
    assert.equal(d(false), null);
  });

  test('the first candidate whose condition holds wins', () => {
    const two = rules('glm-4.6=glm-4.5-flash@five_hour>0.95,glm-4.6=glm-4.5-air@five_hour>0.8');
    const d = (used: number) =>
      decideStepDown({ ...at(T0, polled(T0, used)), candidates: two, start: true, earlier: undefined }).rule
        ?.target ?? null;
    assert.equal(d(0.97), 'glm-4.5-flash');
    assert.equal(d(0.9), 'glm-4.5-air');
    assert.equal(d(0.5), null);
  });

  test('only at a conversation start; a later turn keeps what its start decided, either way', () => {
    const hot = at(T0, polled(T0, 0.99));
    const cold = at(T0, polled(T0, 0.1));
    const base = { candidates: FIVE };
    // Mid-conversation with no record: the model stays even though the window is hot.
    assert.deepEqual(decideStepDown({ ...hot, ...base, start: false, earlier: undefined }), {
      rule: null,
      reason: 'mid_conversation',
    });
    // The start was not stepped down: a hot window later does not switch the conversation.
    assert.equal(decideStepDown({ ...hot, ...base, start: false, earlier: null }).rule, null);
    // The start was stepped down: the window reset, the conversation keeps its cheaper model.
    const sticky = decideStepDown({ ...cold, ...base, start: false, earlier: FIVE[0]! });
    assert.deepEqual(sticky, { rule: FIVE[0], reason: 'sticky' });
    // A new conversation in the same session is decided afresh.
    assert.equal(decideStepDown({ ...cold, ...base, start: true, earlier: FIVE[0]! }).rule, null);
  });
});

describe('isConversationStart', () => {
  test('no assistant turn in messages (both APIs name it assistant)', () => {
    assert.equal(isConversationStart({ messages: [{ role: 'user', content: 'hi' }] }), true);
    assert.equal(
      isConversationStart({
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'system', content: 'x' },
        ],
      }),
      true,
      "Claude Code's trailing system message",
    );
    assert.equal(
      isConversationStart({
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'more' },
        ],
      }),
      false,
    );
    assert.equal(isConversationStart({ messages: 'not a list' }), false, 'unknown shape: not a start');
    assert.equal(isConversationStart(null), false);
  });
});
