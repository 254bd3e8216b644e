// The quota forecast: from successive poll samples of one window, how fast it burns, when it runs
// out at this pace (or "not before reset"), and how much of the burn the proxy's own traffic
// explains. Pure: samples and the own-traffic counter are passed in.
//
// Attribution: over the intervals between samples of the current window period, the used fraction
// grows by k·(own plan units sent) + e·(hours): k is learned (quota fraction per own unit; it absorbs
// whatever the plan-usage estimate gets wrong), e is burn nobody here sent (other machines on the
// account, Z.AI's own IDE). Both are fitted by least squares, non-negative. When own traffic was
// proportional to time in every interval, k and e cannot be told apart: then, if the window's
// absolute allowance is known, k = 1 / allowance; else the attribution is "insufficient data".
// External burn is reported only when it exceeds EXTERNAL_TOLERANCE of the window's burn; below
// that it is indistinguishable from the estimate's error and the provider's 1 % rounding.

export interface ForecastPoint {
  atMs: number;
  /** Used fraction in [0, 1]. */
  used: number;
  resetAtMs: number | null;
  /** The proxy's own plan units sent so far (a cumulative counter). */
  ownUnits: number;
  /** The window's absolute allowance in plan units, when the payload has it. */
  limit: number | null;
}

/** The samples of one window period (since its last reset), oldest first. */
export type WindowHistory = readonly ForecastPoint[];

export type Projection = 'exhausted' | 'before_reset' | 'not_before_reset' | 'insufficient_data';

export type Attribution =
  | { state: 'insufficient_data' }
  | {
      state: 'ok';
      /** Quota fraction per own plan unit. */
      fractionPerOwnUnit: number | null;
      /** Share of the period's burn the proxy's traffic does not explain; 0 when within tolerance. */
      externalShare: number;
      /** External burn, used fraction per hour (0 when within tolerance). */
      externalPerHour: number;
    };

export interface Forecast {
  /** Used fraction per hour over the recent horizon; null without two samples far enough apart. */
  burnPerHour: number | null;
  projection: Projection;
  /** When the window runs out at this pace (for 'before_reset' and 'exhausted'), else null. */
  exhaustsAtMs: number | null;
  attribution: Attribution;
}

/** Burn is measured over this much recent history. */
export const FORECAST_HORIZON_MS = 3_600_000; // 1 h
/** Shorter spans say nothing (the provider rounds to 1 %). */
export const MIN_SPAN_MS = 300_000; // 5 min
/** External burn below this share of the window's burn is not reported. */
export const EXTERNAL_TOLERANCE = 0.1;
/** Intervals needed before attribution is tried. */
export const MIN_INTERVALS = 4;
const MAX_POINTS = 240; // 4 h of one-minute polls
const RESET_MOVE_MS = 300_000; // a reset instant that moves by more than 5 min is a new period
const DROP = 0.005; // the used fraction falling by more than half a percent is a reset
// |correlation| of own units and time above this: the two cannot be told apart.
const MAX_CORRELATION_SQ = 0.9;

/** The history with one more sample; starts a new period when the window was reset. */
export function addPoint(h: WindowHistory, p: ForecastPoint): WindowHistory {
  const last = h.at(-1);
  if (last === undefined) return [p];
  if (p.atMs <= last.atMs) return h; // the same (or an older) sample again
  const moved =
    (last.resetAtMs === null) !== (p.resetAtMs === null) ||
    (last.resetAtMs !== null &&
      p.resetAtMs !== null &&
      Math.abs(p.resetAtMs - last.resetAtMs) > RESET_MOVE_MS);
  if (moved || p.used < last.used - DROP || p.ownUnits < last.ownUnits) return [p];
  return h.length >= MAX_POINTS ? [...h.slice(1), p] : [...h, p];
}

export function forecast(h: WindowHistory, nowMs: number): Forecast {
  const last = h.at(-1);
  if (last === undefined) {
    return {
      burnPerHour: null,
      projection: 'insufficient_data',
      exhaustsAtMs: null,
      attribution: INSUFFICIENT,
    };
  }
  const burnPerHour = burn(h, nowMs);
  const attribution = attribute(h);
  if (last.used >= 1) return { burnPerHour, projection: 'exhausted', exhaustsAtMs: last.atMs, attribution };
  if (burnPerHour === null)
    return { burnPerHour, projection: 'insufficient_data', exhaustsAtMs: null, attribution };
  if (burnPerHour <= 0)
    return { burnPerHour, projection: 'not_before_reset', exhaustsAtMs: null, attribution };
  const at = last.atMs + ((1 - last.used) / burnPerHour) * 3_600_000;
  if (last.resetAtMs !== null && at >= last.resetAtMs) {
    return { burnPerHour, projection: 'not_before_reset', exhaustsAtMs: null, attribution };
  }
  return { burnPerHour, projection: 'before_reset', exhaustsAtMs: Math.round(at), attribution };
}

const INSUFFICIENT: Attribution = { state: 'insufficient_data' };

// Change of the used fraction per hour between the oldest sample of the horizon and the newest.
function burn(h: WindowHistory, nowMs: number): number | null {
  const last = h.at(-1)!;
  const from = h.find((p) => p.atMs >= nowMs - FORECAST_HORIZON_MS) ?? last;
  const span = last.atMs - from.atMs;
  if (span < MIN_SPAN_MS) return null;
  return ((last.used - from.used) / span) * 3_600_000;
}

function attribute(h: WindowHistory): Attribution {
  if (h.length < MIN_INTERVALS + 1) return INSUFFICIENT;
  let saa = 0;
  let sab = 0;
  let sbb = 0;
  let say = 0;
  let sby = 0;
  let sy = 0;
  let sb = 0;
  for (let i = 1; i < h.length; i++) {
    const a = h[i]!.ownUnits - h[i - 1]!.ownUnits;
    const b = (h[i]!.atMs - h[i - 1]!.atMs) / 3_600_000;
    const y = h[i]!.used - h[i - 1]!.used;
    saa += a * a;
    sab += a * b;
    sbb += b * b;
    say += a * y;
    sby += b * y;
    sy += y;
    sb += b;
  }
  if (sy <= 0) return { state: 'ok', fractionPerOwnUnit: null, externalShare: 0, externalPerHour: 0 };
  let k: number;
  let e: number;
  if (saa === 0) {
    k = 0; // no own traffic at all: every bit of burn came from elsewhere
    e = sby / sbb;
  } else if (sab * sab <= MAX_CORRELATION_SQ * saa * sbb) {
    const det = saa * sbb - sab * sab;
    k = (say * sbb - sby * sab) / det;
    e = (saa * sby - sab * say) / det;
    if (k < 0) {
      k = 0;
      e = sby / sbb;
    } else if (e < 0) {
      e = 0;
      k = say / saa;
    }
  } else {
    const limit = h.at(-1)!.limit;
    if (limit === null || !(limit > 0)) return INSUFFICIENT;
    k = 1 / limit;
    e = Math.max(0, (sby - k * sab) / sbb);
  }
  const share = Math.min(1, (e * sb) / sy);
  const reported = share > EXTERNAL_TOLERANCE;
  return {
    state: 'ok',
    fractionPerOwnUnit: saa === 0 ? null : k,
    externalShare: reported ? share : 0,
    externalPerHour: reported ? e : 0,
  };
}
