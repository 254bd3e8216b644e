// The clock every decision reads: wall time, cancellable sleeps and randomness, injectable so tests
// never wait for a real back-off.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  /** Wall time in Unix milliseconds. */
  now(): number;
  /** Resolves after ms, rejects when signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  random: Math.random,
};
