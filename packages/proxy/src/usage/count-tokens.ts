// Local count_tokens answers Claude Code can trust: the cl100k estimate calibrated per model
// against the input usage Z.AI reports on real requests. This module runs the calibrator: it takes
// samples from answered requests (at most one per model per interval, so the extra local count
// costs next to nothing), exports the learned ratio and the estimate's error, and persists the
// ratios through a CalibrationStore with a debounced save.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { CountTokensSupport } from './count-tokens-support.ts';
import { type CalibrationSnapshot, type CalibrationStore, TokenCalibrator } from './token-calibration.ts';

/** How a local count_tokens answer was made: `X-Token-Source`. */
export type LocalTokenSource = 'estimate' | 'estimate-calibrated';

export interface LocalCount {
  tokens: number;
  source: LocalTokenSource;
}

export interface CountTokensOptions {
  /** The raw local estimate of a request body's input tokens. */
  estimate(json: unknown): Promise<number>;
  metrics: Metrics;
  log: Logger;
  now(): number;
  /** At most one calibration sample per model per interval; 0 = every answered request. */
  sampleIntervalMs: number;
  /** How long an upstream's "count_tokens unsupported" answer is trusted. */
  rememberUnsupportedMs: number;
  store: CalibrationStore | null;
  restored: CalibrationSnapshot | null;
}

export interface CountTokensLocal {
  /** Offers a request whose provider input usage (input + cache tokens) is known. */
  learn(model: string, json: unknown, providerInput: number): void;
  /** The local answer for a count_tokens request: calibrated when the model has a learned ratio. */
  answer(model: string, json: unknown): Promise<LocalCount>;
  /** Which upstreams lack count_tokens, remembered for a while. */
  readonly support: CountTokensSupport;
  health(): Record<string, unknown>;
  /** Saves unsaved ratios. */
  close(): Promise<void>;
}

/** Ratios are written at most this often while they change, and once more on close. */
const SAVE_EVERY_MS = 60_000;

export function createCountTokensLocal(o: CountTokensOptions): CountTokensLocal {
  const cal = new TokenCalibrator({}, o.restored);
  const m = o.metrics;
  const lastSample = new Map<string, number>();
  const support = new CountTokensSupport(o.rememberUnsupportedMs);
  let saveTimer: NodeJS.Timeout | null = null;
  let saving: Promise<void> = Promise.resolve();
  let warned = false;

  for (const [model, ratio] of cal.entries()) m.tokenCalibrationRatio.labels(model, m.variant).set(ratio);

  const save = (): Promise<void> => {
    saveTimer = null;
    if (o.store === null || !cal.changed) return saving;
    const snap = cal.snapshot(o.now());
    const store = o.store;
    saving = saving.then(() =>
      store.save(snap).catch((err: NodeJS.ErrnoException) => {
        if (warned) return;
        warned = true; // once: a read-only volume must not flood the log
        o.log.warn(
          { err: err.code ?? err.message },
          'Cannot save the token calibration state; ratios stay in memory',
        );
      }),
    );
    return saving;
  };

  return {
    support,
    learn(model, json, providerInput) {
      const now = o.now();
      const last = lastSample.get(model);
      if (last !== undefined && now - last < o.sampleIntervalMs) return;
      lastSample.set(model, now);
      o.estimate(json).then(
        (estimate) => {
          const e = cal.observe(model, estimate, providerInput, o.now());
          if (e === null) return;
          m.tokenEstimateError.labels(model, m.variant, 'raw').observe(e.raw);
          m.tokenEstimateError.labels(model, m.variant, 'calibrated').observe(e.calibrated);
          m.tokenCalibrationRatio.labels(model, m.variant).set(cal.ratio(model));
          if (o.store !== null && saveTimer === null) {
            saveTimer = setTimeout(save, SAVE_EVERY_MS);
            saveTimer.unref();
          }
        },
        (err) => o.log.warn({ err: (err as Error).message }, 'Token estimate failed'),
      );
    },
    async answer(model, json) {
      const estimate = await o.estimate(json);
      return cal.isCalibrated(model)
        ? { tokens: cal.calibrate(model, estimate), source: 'estimate-calibrated' }
        : { tokens: estimate, source: 'estimate' };
    },
    health: () => ({ calibration: Object.fromEntries(cal.entries().map(([k, r]) => [k, round3(r)])) }),
    close() {
      if (saveTimer !== null) clearTimeout(saveTimer);
      return save();
    },
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
