// Admission: the gate every upstream attempt (first or retry) passes, and the signals classified
// upstream outcomes are published on. The pacing issue fills these in; until then admission is free.
import type { Exchange } from '../exchange.ts';
import type { ZaiErrorClass } from '../upstream/zai-classifier.ts';

/** Waits for permission to send one upstream attempt; rejects when `signal` aborts. */
export interface Admission {
  acquire(x: Exchange, signal: AbortSignal): Promise<Release>;
}
export type Release = () => void;

/** An upstream outcome other modules react to (rate limiter, concurrency limiter, quota gate). */
export type UpstreamSignal =
  | { type: 'success' }
  | {
      type: 'zai_error';
      status: number;
      class: ZaiErrorClass;
      code: string | null;
      resetAtMs: number | null;
      /** A frequency/unknown 429: the rate limiter's backoff input. */
      feedRateLimiter: boolean;
    };

export interface UpstreamSignals {
  publish(s: UpstreamSignal): void;
}

const release: Release = () => {};

/** Admission that never waits. */
export const openAdmission: Admission = { acquire: () => Promise.resolve(release) };

/** Signals nobody listens to yet. */
export const noSignals: UpstreamSignals = { publish: () => {} };
