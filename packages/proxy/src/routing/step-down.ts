// The step-down decision: whether a request is served a cheaper model than the one MODEL_MAP chose,
// from the quota windows, the peak window and where the request stands in its conversation. Pure:
// time, the quota reading and the conversation's earlier decision are inputs.
//
// Changing model mid-conversation loses the prompt cache (the quota then burns faster, the opposite
// of the point) and can invalidate thinking-block signatures, which the next model rejects. So a
// step-down is decided only where a conversation starts (no assistant turn yet), and the decision,
// either way, holds for the rest of that conversation.
import { isFresh, type PollState } from '../quota/index.ts';
import type { StepDownCondition, StepDownRule } from './model-rules.ts';

/** What a condition is judged against at one moment. */
export interface Conditions {
  nowMs: number;
  /** The poller's state; null when quota polling is off. */
  quota: PollState | null;
  /** A sample older than this (ms) is stale and triggers nothing. */
  staleAfterMs: number;
  /** The pricing peak window holds now. */
  peak: boolean;
}

export interface StepDownInput extends Conditions {
  /** The step-down rules whose pattern matches the model MODEL_MAP chose, in order. */
  candidates: readonly StepDownRule[];
  /** The request carries no assistant turn: a conversation starts here. */
  start: boolean;
  /** What this conversation's start decided (known only with a session id): the rule that stepped
   *  it down, null when it was not, undefined when unknown. */
  earlier: StepDownRule | null | undefined;
}

export interface StepDownVerdict {
  /** The rule whose target is served, or null: the model stays. */
  rule: StepDownRule | null;
  /** Why, for logs and tests. */
  reason: 'condition' | 'no_condition' | 'sticky' | 'mid_conversation';
}

/** Decides one request. */
export function decideStepDown(i: StepDownInput): StepDownVerdict {
  if (!i.start) {
    // A later turn keeps whatever its conversation started with; without a record, the model stays.
    if (i.earlier === undefined || i.earlier === null) return { rule: null, reason: 'mid_conversation' };
    return { rule: i.earlier, reason: 'sticky' };
  }
  for (const r of i.candidates) if (conditionHolds(r.when, i)) return { rule: r, reason: 'condition' };
  return { rule: null, reason: 'no_condition' };
}

/** Whether a condition holds now. A quota condition needs a fresh sample, and a window whose reset
 *  has passed counts as unused even before the next poll says so. */
export function conditionHolds(c: StepDownCondition, at: Conditions): boolean {
  if (c.kind === 'peak') return at.peak;
  const used = usedFraction(c.window, at);
  return used !== null && used > c.above;
}

/** The used fraction of a window by a fresh sample, 0 past its reset; null without fresh data. */
export function usedFraction(window: string, at: Conditions): number | null {
  const q = at.quota;
  if (q === null || q.sample === null || !isFresh(q, at.nowMs, at.staleAfterMs)) return null;
  const w = q.sample.windows.find((x) => x.window === window);
  if (w === undefined) return null;
  if (w.resetAtMs !== null && at.nowMs >= w.resetAtMs) return 0;
  return w.usedFraction;
}

/** A request's messages hold no assistant turn (Anthropic and OpenAI both name it `assistant`). */
export function isConversationStart(json: Record<string, unknown> | null): boolean {
  const messages = json?.messages;
  if (!Array.isArray(messages)) return false;
  for (const m of messages) {
    if (m !== null && typeof m === 'object' && (m as { role?: unknown }).role === 'assistant') return false;
  }
  return true;
}
