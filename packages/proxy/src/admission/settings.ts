// The admission engine's settings, from the config: one mapping used by the proxy, its tests and
// bench/admission-sim, so the simulation runs the shipped defaults.
import type { Config } from '../config.ts';
import type { LanesConfig } from './lanes.ts';
import { MIN_WINDOW_SAMPLES, WINDOW_MS } from './rate-limiter.ts';

export type AdmissionSettings = Pick<
  Config,
  | 'MAX_QUEUE'
  | 'MAX_QUEUE_WAIT'
  | 'CONCURRENCY_ENABLED'
  | 'CONCURRENCY_INITIAL'
  | 'CONCURRENCY_MIN'
  | 'CONCURRENCY_MAX'
  | 'CONCURRENCY_BACKOFF'
  | 'CONCURRENCY_PROBE_ROUNDS'
  | 'RATE_LIMIT_ENABLED'
  | 'RATE_LIMIT_INITIAL'
  | 'RATE_LIMIT_MIN'
  | 'RATE_LIMIT_MAX'
  | 'RATE_LIMIT_CEILING_ALPHA'
  | 'RATE_LIMIT_HOLD_MARGIN'
  | 'RATE_LIMIT_PROBE_INTERVAL'
>;

export function lanesConfig(c: AdmissionSettings): LanesConfig {
  return {
    concurrency: c.CONCURRENCY_ENABLED
      ? {
          initial: c.CONCURRENCY_INITIAL,
          min: c.CONCURRENCY_MIN,
          max: c.CONCURRENCY_MAX,
          backoff: c.CONCURRENCY_BACKOFF,
          probeRounds: c.CONCURRENCY_PROBE_ROUNDS,
        }
      : null,
    rate: c.RATE_LIMIT_ENABLED
      ? {
          initial: c.RATE_LIMIT_INITIAL,
          min: c.RATE_LIMIT_MIN,
          max: c.RATE_LIMIT_MAX,
          alpha: c.RATE_LIMIT_CEILING_ALPHA,
          holdMargin: c.RATE_LIMIT_HOLD_MARGIN,
          probeInterval: c.RATE_LIMIT_PROBE_INTERVAL,
          windowMs: WINDOW_MS,
          minSamples: MIN_WINDOW_SAMPLES,
        }
      : null,
    maxQueue: c.MAX_QUEUE,
    maxQueueWaitMs: c.MAX_QUEUE_WAIT,
  };
}
