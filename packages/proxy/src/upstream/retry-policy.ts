// Retry policy: given one failed upstream attempt, decide whether to try again, how long to wait
// first, and what the rate limiter and the client should hear. Pure: the attempt loop owns the
// clock, the timers, admission and metrics, and calls this once per failed attempt.
//
// Where this differs from the Go proxy it replaces:
// - every retry is preceded by exactly one wait, the largest applicable hint (an unclassified 429
//   no longer waits out Retry-After and then the backoff on top of it);
// - a wait longer than the cap is not taken: the error goes back to the client with Retry-After
//   instead of holding an admission slot for minutes;
// - HTTP-date and `retry-after-ms` hints count (parsed by the caller with retryAfterFromHeaders);
// - a body `retry_after` is honoured for unclassified 429s too: it is upstream's own instruction;
// - timeouts are not retried, and classes that no wait can fix (quota, billing, auth) never are.

import { FAILURES, type FailureKind, isThrottlingStatus, type RetryReason } from './failures.ts';
import { classifyZaiError, ZAI_CLASSES, type ZaiError, type ZaiErrorClass } from './zai-classifier.ts';

export type { FailureKind, RetryReason };

/** Everything the policy needs to know about the attempt that just failed. */
export interface RetryInput {
  kind: FailureKind;
  /** Upstream status, for kind 'status'. */
  status?: number;
  /** Classification of the error body, for kind 'status' (derived from the status alone when absent). */
  zai?: ZaiError;
  /** From retryAfterFromHeaders; null when upstream sent no usable hint. */
  headerRetryAfterMs: number | null;
  /** 0-based index of the attempt that just failed. */
  attempt: number;
  /** MAX_RETRIES: extra attempts after the first. */
  maxRetries: number;
  /** MAX_RETRY_WAIT: a longer wait is not taken; the error goes back to the client. */
  maxRetryWaitMs: number;
  nowMs: number;
  /** Jitter source in [0, 1); injectable so tests can pin it. */
  random: () => number;
}

/** What the attempt loop does next. */
export interface RetryDecision {
  retry: boolean;
  /** Wait before the next attempt; 0 when not retrying. */
  delayMs: number;
  /** retry_attempts_total{reason} label when retrying, else null. */
  reason: RetryReason | null;
  /** Publish this failure to the rate limiter as a 429 signal (frequency or unclassified 429). */
  feedRateLimiter: boolean;
  /** When giving up on a 429/529: Retry-After (s) for the client if upstream sent none; null if unknown. */
  clientRetryAfterSec: number | null;
  why: 'retry' | 'not_retryable' | 'budget_exhausted' | 'wait_exceeds_cap';
}

/** How a 429/529 of each class is retried by the proxy:
 *  - 'plain': the plain curve (concurrency: slots free as in-flight requests finish, so jitter would
 *    only shorten the wait);
 *  - 'jittered': the curve jittered to spread the callers turned away at the same moment;
 *  - 'by_status': jittered for a 529 (overload by definition), plain for a 429 (conservative);
 *  - 'never': no wait fixes it before a reset, a payment, a plan change or a changed request;
 *  - 'long': never retried here; the client is told to stay away at least FAIR_USE_BACKOFF_MS. */
export const CLASS_RETRY: Readonly<
  Record<ZaiErrorClass, 'plain' | 'jittered' | 'by_status' | 'never' | 'long'>
> = Object.freeze({
  concurrency: 'plain',
  frequency: 'jittered',
  overloaded: 'jittered',
  model_congestion: 'jittered',
  unknown: 'by_status',
  quota: 'never', // the window stays spent until its reset: retrying only burns attempts
  fair_use: 'long', // Z.AI throttles the account's frequency until its owner has it lifted
  billing: 'never', // arrears, an expired plan, or a key on the wrong endpoint
  permission: 'never', // the plan does not include the model: only another model or plan helps
  request: 'never', // the request itself is refused (too long, invalid, flagged)
  auth: 'never',
});

/** The shortest Retry-After a fair-use (1313) answer carries: 10 min. Z.AI lifts the throttle only
 *  on the owner's request, so a client coming back sooner would only add to the pattern it flags. */
export const FAIR_USE_BACKOFF_MS = 600_000;

const MAX_BACKOFF_SHIFT = 32; // 2^32 s: far beyond any retry budget, keeps the number finite

/** Plain backoff before retry number n (1-based): 2^(n−1) s, so 1 s, 2 s, 4 s…; 0 for n < 1. */
export function backoffMs(retryNumber: number): number {
  if (!(retryNumber >= 1)) return 0;
  const shift = Math.min(Math.floor(retryNumber) - 1, MAX_BACKOFF_SHIFT);
  return 2 ** shift * 1000;
}

/** Jittered wait in [base/2, base): spreads callers hit by the same 429 without ever waiting longer than the plain curve; an out-of-range or NaN sample counts as 0. */
export function jitterMs(baseMs: number, u: number): number {
  if (!(baseMs > 0)) return 0;
  const sample = u >= 0 && u < 1 ? u : 0;
  return baseMs / 2 + (baseMs / 2) * sample;
}

/** Decides whether and when to retry after one failed upstream attempt. Pure; never throws on odd input. */
export function decideRetry(input: RetryInput): RetryDecision {
  const { kind, attempt } = input;
  if (kind !== 'status') {
    // Transport and validation failures retry on the plain curve, or never (a timeout: the request
    // reached upstream, which may still be generating and billing it; a retry would pay twice).
    const reason = FAILURES[kind].retry;
    if (reason === null) return stop('not_retryable', false, null);
    if (!withinBudget(input)) return stop('budget_exhausted', false, null);
    return schedule(input, backoffMs(attempt + 1), reason, false, 0);
  }

  const status = input.status ?? 0;
  const zai = input.zai ?? classifyZaiError(status, null);
  // As the Go proxy's rate feedback did: only rate pressure the request-rate controller can fix.
  // Concurrency, overload, congestion, quota and billing 429s would walk its ceiling down for nothing.
  const feed = status === 429 && ZAI_CLASSES[zai.class].feedsRateLimiter;
  // Only throttling statuses are retried; any other error (400, 404, 422, 500, 503…) passes
  // through, even when its body carries a known code.
  if (!isThrottlingStatus(status)) return stop('not_retryable', feed, null);

  const hintMs = Math.max(positive(input.headerRetryAfterMs), positive(zai.retryAfterSec) * 1000);
  const resetInMs = zai.resetAtMs === null ? 0 : positive(zai.resetAtMs - input.nowMs);
  const giveUpHint = toSeconds(Math.max(hintMs, resetInMs));

  const rule = CLASS_RETRY[zai.class];
  if (rule === 'never') return stop('not_retryable', feed, giveUpHint);
  if (rule === 'long')
    return stop('not_retryable', feed, toSeconds(Math.max(hintMs, resetInMs, FAIR_USE_BACKOFF_MS)));
  const jittered = rule === 'jittered' || (rule === 'by_status' && status === 529);
  if (!withinBudget(input)) return stop('budget_exhausted', feed, giveUpHint);
  const plainMs = backoffMs(attempt + 1);
  const baseMs = jittered ? jitterMs(plainMs, input.random()) : plainMs;
  // One wait: the longest of our own curve and upstream's hints, never a sum of them.
  const delayMs = Math.max(baseMs, hintMs);
  return schedule(input, delayMs, status === 529 ? 'overloaded' : '429', feed, resetInMs);
}

// Retry with delayMs unless it exceeds the cap; a declined wait becomes the client's Retry-After.
function schedule(
  input: RetryInput,
  delayMs: number,
  reason: RetryReason,
  feed: boolean,
  resetInMs: number,
): RetryDecision {
  if (delayMs > input.maxRetryWaitMs) {
    const hint = input.kind === 'status' ? toSeconds(Math.max(delayMs, resetInMs)) : null;
    return stop('wait_exceeds_cap', feed, hint);
  }
  return { retry: true, delayMs, reason, feedRateLimiter: feed, clientRetryAfterSec: null, why: 'retry' };
}

function stop(why: RetryDecision['why'], feed: boolean, clientRetryAfterSec: number | null): RetryDecision {
  return { retry: false, delayMs: 0, reason: null, feedRateLimiter: feed, clientRetryAfterSec, why };
}

// `<` is false for NaN, so a NaN attempt or budget counts as exhausted.
function withinBudget(input: RetryInput): boolean {
  return input.attempt < input.maxRetries;
}

function positive(v: number | null): number {
  return v !== null && v > 0 ? v : 0;
}

// Whole seconds, rounded up so a client never comes back early; null when there is no hint.
function toSeconds(ms: number): number | null {
  return ms > 0 && Number.isFinite(ms) ? Math.ceil(ms / 1000) : null;
}
