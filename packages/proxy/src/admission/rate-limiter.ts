// Adaptive request rate: a token bucket whose rate is learned from Z.AI's frequency 429s (1303 and
// unclassified 429s). Concurrency is Z.AI's main limit (concurrency-limiter.ts); this controller
// keeps the Go proxy's answer to the short-horizon frequency limit, with its variables and defaults:
//
// every window (≥ 30 s) the share r of requests that met a frequency 429 decides:
// - r > 5 %: the accepted rate (observed request rate × (1 − r)) enters an EWMA of the ceiling,
//   floored at min; the rate drops to the hold, ceiling × (1 − margin);
// - r < 1 %: a clean window. If a probe held clean, the ceiling rises to the probed rate. Every
//   `probeInterval` clean windows the rate probes ceiling × (1 + margin); otherwise it converges up
//   to the hold by half the gap (at least 0.25 req/s);
// - in between nothing changes and the clean count is kept.
//
// Fixed from the Go proxy: a window closes only with a minimum sample (one request is not a 0 % or
// 100 % window); outcomes are counted per request, not per attempt (a retried 429 is one throttled
// request, not several); the EWMA takes the observed rate, not the configured one (a quiet window
// says nothing about what upstream accepts above it); after a probe the rate goes back to the hold,
// never stays above it; MIN ≤ INITIAL ≤ MAX is checked by the config.
//
// Pure: state in, state out, time passed in.

/** RATE_LIMIT_* variables. */
export interface RateConfig {
  initial: number;
  min: number;
  max: number;
  /** EWMA weight of the new observation, (0, 1]. */
  alpha: number;
  /** Hold this fraction below the ceiling, probe this fraction above it, (0, 1). */
  holdMargin: number;
  /** Clean windows between probes; 0 disables probing. */
  probeInterval: number;
  /** Window length (30 s). */
  windowMs: number;
  /** Requests a window needs before it is judged. */
  minSamples: number;
}

export interface RateState {
  /** Token-bucket rate, req/s. */
  rate: number;
  /** Estimated upstream ceiling, req/s. */
  ceiling: number;
  cleanWindows: number;
  /** The rate is probing above the ceiling. */
  probing: boolean;
  windowStart: number;
  ok: number;
  throttled: number;
  /** When the ceiling was last learned (Unix ms), or 0 before. */
  ceilingUpdatedAt: number;
}

export type RateChange = 'none' | 'increase' | 'decrease' | 'probe' | 'hold';

export interface RateStep {
  state: RateState;
  /** `direction` of zai_proxy_rate_limit_adjustments_total, or none/hold (no metric). */
  change: RateChange;
  /** The ceiling changed: persist {ceiling, hold: rate, ts}. */
  ceilingChanged: boolean;
}

export const WINDOW_MS = 30_000; // 30 s, as the Go proxy
export const MIN_WINDOW_SAMPLES = 10;
const CLEAN = 0.01; // < 1 % of requests throttled
const BACKOFF = 0.05; // > 5 %
const MIN_STEP = 0.25; // req/s

/** The state at startup or after a reset: rate and ceiling at the initial rate. */
export function initialRate(cfg: RateConfig, now: number): RateState {
  return {
    rate: cfg.initial,
    ceiling: cfg.initial,
    cleanWindows: 0,
    probing: false,
    windowStart: now,
    ok: 0,
    throttled: 0,
    ceilingUpdatedAt: 0,
  };
}

/** Applies a persisted {ceiling, hold, ts}: clamped into [min, max] and hold into [min, ceiling];
 *  null when the document is unusable (missing, non-positive). */
export function restoreRate(cfg: RateConfig, doc: unknown, writtenAt: number, now: number): RateState | null {
  if (doc === null || typeof doc !== 'object') return null;
  const d = doc as Record<string, unknown>;
  if (typeof d.ceiling !== 'number' || typeof d.hold !== 'number') return null;
  if (!(d.ceiling > 0) || !(d.hold > 0)) return null;
  const ceiling = Math.max(cfg.min, Math.min(cfg.max, d.ceiling));
  const rate = Math.max(cfg.min, Math.min(ceiling, d.hold));
  return { ...initialRate(cfg, now), rate, ceiling, ceilingUpdatedAt: writtenAt };
}

/** Hold position: ceiling × (1 − margin), within [min, max]. */
export function holdRate(s: RateState, cfg: RateConfig): number {
  return clamp(s.ceiling * (1 - cfg.holdMargin), cfg);
}

/** Records one finished request and judges the window if it is due. */
export function recordRequest(s: RateState, cfg: RateConfig, throttled: boolean, now: number): RateStep {
  // Every field written out: V8 copies `{ ...s, ok }` field by field (about 0.5 µs), and this
  // runs once per request.
  const next: RateState = {
    rate: s.rate,
    ceiling: s.ceiling,
    cleanWindows: s.cleanWindows,
    probing: s.probing,
    windowStart: s.windowStart,
    ok: throttled ? s.ok : s.ok + 1,
    throttled: throttled ? s.throttled + 1 : s.throttled,
    ceilingUpdatedAt: s.ceilingUpdatedAt,
  };
  return evaluate(next, cfg, now);
}

/** Judges the window when it is at least windowMs long and has the minimum sample. */
export function evaluate(s: RateState, cfg: RateConfig, now: number): RateStep {
  const n = s.ok + s.throttled;
  const elapsed = now - s.windowStart;
  if (elapsed < cfg.windowMs || n < cfg.minSamples)
    return { state: s, change: 'none', ceilingChanged: false };
  const r = s.throttled / n;
  const base = { ...s, windowStart: now, ok: 0, throttled: 0 };

  if (r > BACKOFF) {
    const observed = Math.min(s.rate, (n * 1000) / elapsed);
    const accepted = observed * (1 - r);
    const ceiling = Math.max(cfg.min, cfg.alpha * accepted + (1 - cfg.alpha) * s.ceiling);
    const state = { ...base, ceiling, cleanWindows: 0, probing: false, ceilingUpdatedAt: now };
    state.rate = Math.max(cfg.min, Math.min(s.rate, holdRate(state, cfg)));
    return { state, change: 'decrease', ceilingChanged: true };
  }
  if (r >= CLEAN) {
    // Middle window. A probe that did not hold clean goes back to the hold; otherwise keep everything.
    if (!s.probing) return { state: base, change: 'none', ceilingChanged: false };
    const state = { ...base, probing: false };
    state.rate = holdRate(state, cfg);
    return { state, change: 'hold', ceilingChanged: false };
  }

  const state = { ...base, cleanWindows: s.cleanWindows + 1, probing: false };
  let ceilingChanged = false;
  if (s.probing && s.rate > s.ceiling) {
    state.ceiling = s.rate; // the probe held clean: upstream accepts this rate
    state.ceilingUpdatedAt = now;
    ceilingChanged = true;
  }
  const target = holdRate(state, cfg);
  if (cfg.probeInterval > 0 && state.cleanWindows >= cfg.probeInterval && s.rate < cfg.max) {
    state.rate = Math.min(cfg.max, state.ceiling * (1 + cfg.holdMargin));
    state.cleanWindows = 0;
    state.probing = state.rate > state.ceiling;
    return { state, change: 'probe', ceilingChanged };
  }
  if (s.rate < target) {
    state.rate = Math.min(target, s.rate + Math.max(MIN_STEP, (target - s.rate) / 2));
    return { state, change: 'increase', ceilingChanged };
  }
  if (s.rate > target) {
    state.rate = target; // after a probe: hold just below the ceiling, not at it
    return { state, change: 'hold', ceilingChanged };
  }
  return { state, change: 'none', ceilingChanged };
}

/** A token bucket with continuous refill; burst max(1, ⌊2 × rate⌋), starting full. */
export interface Bucket {
  rate: number;
  burst: number;
  tokens: number;
  at: number;
}

export function createBucket(rate: number, now: number): Bucket {
  const burst = burstOf(rate);
  return { rate, burst, tokens: burst, at: now };
}

/** The bucket at a new rate; tokens kept up to the new burst. */
export function setBucketRate(b: Bucket, rate: number, now: number): void {
  refill(b, now);
  b.rate = rate;
  b.burst = burstOf(rate);
  b.tokens = Math.min(b.tokens, b.burst);
}

/** Takes a token and returns 0, or returns the ms until one is available (taking nothing). */
export function takeToken(b: Bucket, now: number): number {
  refill(b, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / b.rate));
}

function refill(b: Bucket, now: number): void {
  if (now > b.at) b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) * b.rate) / 1000);
  b.at = now;
}

function burstOf(rate: number): number {
  return Math.max(1, Math.floor(2 * rate));
}

function clamp(v: number, cfg: RateConfig): number {
  return Math.max(cfg.min, Math.min(cfg.max, v));
}
