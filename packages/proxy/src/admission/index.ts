// Admission: the gate every upstream attempt (first or retry) passes. The pacing, quota and budget
// modules implement it; until they exist admission is free. It sees a narrow request, never the
// exchange, and hears back how each attempt went so an adaptive limiter can learn from it.
import type { ClientIdentity } from '../http/auth.ts';
import type { ApiFamily, RouteKind } from '../routes/types.ts';
import type { ZaiErrorClass } from '../upstream/zai-classifier.ts';

/** What admission may know about one upstream attempt. */
export interface AdmissionRequest {
  readonly client: ClientIdentity;
  readonly api: ApiFamily;
  readonly route: RouteKind;
  /** `model` as the client sent it, or null. */
  readonly model: string | null;
  readonly stream: boolean;
  /** 0 for the first attempt, n for the n-th retry. */
  readonly attempt: number;
}

/** How the admitted attempt ended.
 *  - ok: upstream answered (a 2xx, or an error status that is not throttling and not a 5xx);
 *  - throttled: a 429 or 529, with the class Z.AI's business code gave it;
 *  - failed: no usable answer (connection failure, timeout, invalid 2xx, 5xx, stream broken mid-way);
 *  - cancelled: the client left before the attempt ended. */
export type PermitOutcome =
  | { type: 'ok' }
  | { type: 'throttled'; zaiClass: ZaiErrorClass }
  | { type: 'failed' }
  | { type: 'cancelled' };

/** Permission for one upstream attempt; released exactly once. */
export interface Permit {
  /** latencyMs: from dispatch to the attempt's end (headers and body), admission wait excluded. */
  release(outcome: PermitOutcome, latencyMs: number): void;
}

export interface Admission {
  /** Waits for permission to send one upstream attempt. Rejects with a GatewayError (QUEUE_FULL,
   *  QUEUE_TIMEOUT, QUOTA_EXHAUSTED, BUDGET_EXCEEDED, with retryAfterSec where known), which becomes
   *  the client's answer; or, when `signal` aborts (the client left), with anything: nothing is written. */
  acquire(request: AdmissionRequest, signal: AbortSignal): Promise<Permit>;
  /** The `rate_limit` section of /health. */
  health(): Record<string, unknown>;
  /** A 1302 goes back to admission's queue (not a retry, no back-off) instead of the retry policy. */
  readonly requeuesConcurrency?: boolean;
  close?(): Promise<void>;
}

const freePermit: Permit = { release: () => {} };
const admitted = Promise.resolve(freePermit);

/** Admission that never waits (no pacing configured). */
export const openAdmission: Admission = {
  acquire: () => admitted,
  // The section as the Go proxy reported it with its limiter off.
  health: () => ({ current_rate: 0, ceiling: 0, hold: 0, restored_from_state: false, enabled: false }),
};
