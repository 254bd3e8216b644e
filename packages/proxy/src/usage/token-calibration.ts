// Calibration of the local input-token estimate against the input usage Z.AI reports, per model.
//
// The local estimate counts cl100k_base tokens; GLM's tokenizer counts differently (about 27 % more
// on a measured corpus), and Claude Code sizes its auto-compaction from count_tokens, so a raw
// estimate makes it compact too late. Every response with provider usage is a labelled sample:
// (local estimate of the request, Z.AI's input + cache tokens). The ratio provider / estimate is
// learned online per folded model, as a running mean of log-ratios that becomes an exponentially
// weighted one after WARMUP samples, so it settles fast and then follows slow drift. Every sample and
// the learned ratio are clamped to [minRatio, maxRatio]: one odd response cannot swing the answer.
//
// Pure: the caller passes the clock; persistence is a snapshot behind CalibrationStore.
import { foldModel } from './models.ts';

/** Tuning of the calibrator; every field has a default. */
export interface CalibrationOptions {
  /** Bounds of a sample's ratio and of the learned ratio. */
  minRatio: number;
  maxRatio: number;
  /** Samples whose provider count is below this are skipped: fixed template tokens dominate them. */
  minTokens: number;
  /** Weight of a new sample once warmed up. */
  alpha: number;
}

export const DEFAULT_CALIBRATION: Readonly<CalibrationOptions> = Object.freeze({
  minRatio: 0.5,
  maxRatio: 2,
  minTokens: 64,
  alpha: 0.05,
});

/** Samples averaged plainly before the weighting takes over (1/n > alpha until then). */
const WARMUP = 20;
/** At most this many models are tracked (labels are folded, so far fewer occur). */
const MAX_MODELS = 64;

/** One model's learned state. */
export interface ModelCalibration {
  ratio: number;
  samples: number;
  updatedAtMs: number;
}

/** What is persisted; `version` guards the format. */
export interface CalibrationSnapshot {
  version: 1;
  savedAtMs: number;
  models: Record<string, ModelCalibration>;
}

/** Relative errors of one sample, (estimate − provider) / provider, before it was learned. */
export interface SampleError {
  raw: number;
  calibrated: number;
}

/** Where snapshots live. The file store below is the default; the admission state store can
 *  implement the same two calls when it exists. */
export interface CalibrationStore {
  load(): Promise<unknown>;
  save(snapshot: CalibrationSnapshot): Promise<void>;
}

export class TokenCalibrator {
  private readonly opts: CalibrationOptions;
  private readonly models = new Map<string, { logRatio: number; samples: number; updatedAtMs: number }>();
  private dirty = false;

  constructor(opts: Partial<CalibrationOptions> = {}, restored: CalibrationSnapshot | null = null) {
    this.opts = { ...DEFAULT_CALIBRATION, ...opts };
    const { minRatio, maxRatio, alpha } = this.opts;
    if (!(minRatio > 0 && maxRatio >= minRatio && Number.isFinite(maxRatio))) {
      throw new Error(`token calibration: need 0 < minRatio <= maxRatio, got ${minRatio}, ${maxRatio}`);
    }
    if (!(alpha > 0 && alpha <= 1))
      throw new Error(`token calibration: alpha must be in (0, 1], got ${alpha}`);
    if (restored !== null) {
      for (const [model, m] of Object.entries(restored.models)) {
        if (this.models.size >= MAX_MODELS) break;
        this.models.set(model, {
          logRatio: Math.log(this.clamp(m.ratio)),
          samples: m.samples,
          updatedAtMs: m.updatedAtMs,
        });
      }
    }
  }

  /** The learned ratio for a model; 1 (the raw estimate) when nothing was learned. */
  ratio(model: string): number {
    const m = this.models.get(model);
    return m === undefined ? 1 : Math.exp(m.logRatio);
  }

  /** Whether a model has a learned ratio (the answer is then `estimate-calibrated`). */
  isCalibrated(model: string): boolean {
    return this.models.has(model);
  }

  /** The calibrated count for a raw estimate. */
  calibrate(model: string, estimate: number): number {
    if (!(estimate > 0)) return 0;
    return Math.round(estimate * this.ratio(model));
  }

  /** Learns one sample; returns the errors of the raw and the calibrated estimate as they were
   *  before this sample (an honest out-of-sample error), or null when the sample is skipped. */
  observe(model: string, estimate: number, provider: number, nowMs: number): SampleError | null {
    if (!(estimate > 0) || !(provider >= this.opts.minTokens) || !Number.isFinite(provider)) return null;
    let m = this.models.get(model);
    const error: SampleError = {
      raw: (estimate - provider) / provider,
      calibrated: (this.calibrate(model, estimate) - provider) / provider,
    };
    if (m === undefined) {
      if (this.models.size >= MAX_MODELS) return error;
      m = { logRatio: 0, samples: 0, updatedAtMs: nowMs };
      this.models.set(model, m);
    }
    const sample = Math.log(this.clamp(provider / estimate));
    m.samples++;
    const w = Math.max(1 / Math.min(m.samples, WARMUP), this.opts.alpha);
    m.logRatio = Math.log(this.clamp(Math.exp(m.logRatio + w * (sample - m.logRatio))));
    m.updatedAtMs = nowMs;
    this.dirty = true;
    return error;
  }

  /** Whether anything was learned since the last snapshot. */
  get changed(): boolean {
    return this.dirty;
  }

  /** The state to persist; clears `changed`. */
  snapshot(nowMs: number): CalibrationSnapshot {
    const models: Record<string, ModelCalibration> = {};
    for (const [model, m] of this.models) {
      models[model] = { ratio: Math.exp(m.logRatio), samples: m.samples, updatedAtMs: m.updatedAtMs };
    }
    this.dirty = false;
    return { version: 1, savedAtMs: nowMs, models };
  }

  /** Learned models and ratios, for metrics and /health. */
  entries(): [string, number][] {
    return [...this.models].map(([model, m]) => [model, Math.exp(m.logRatio)]);
  }

  private clamp(r: number): number {
    return Math.min(this.opts.maxRatio, Math.max(this.opts.minRatio, r));
  }
}

/** Validates a loaded snapshot: null when it is malformed, of another version, or older than
 *  maxAgeMs (a tokenizer change upstream makes an old ratio wrong; relearning is cheap). */
export function restoreSnapshot(v: unknown, nowMs: number, maxAgeMs: number): CalibrationSnapshot | null {
  if (v === null || typeof v !== 'object') return null;
  const s = v as Partial<CalibrationSnapshot>;
  if (s.version !== 1 || typeof s.savedAtMs !== 'number' || nowMs - s.savedAtMs > maxAgeMs) return null;
  if (s.models === null || typeof s.models !== 'object' || Array.isArray(s.models)) return null;
  const models: Record<string, ModelCalibration> = {};
  for (const [model, raw] of Object.entries(s.models)) {
    if (foldModel(model) !== model) continue; // model names become metric labels: folded ones only
    const m = raw as Partial<ModelCalibration> | null;
    if (m === null || typeof m !== 'object') continue;
    const { ratio, samples, updatedAtMs } = m;
    if (typeof ratio !== 'number' || !(ratio > 0) || !Number.isFinite(ratio)) continue;
    if (typeof samples !== 'number' || !(samples >= 1)) continue;
    models[model] = {
      ratio,
      samples,
      updatedAtMs: typeof updatedAtMs === 'number' ? updatedAtMs : s.savedAtMs,
    };
  }
  return { version: 1, savedAtMs: s.savedAtMs, models };
}
