// The budget decisions, pure over explicit readings and `nowMs`: how much of each limit a client has
// used, whether its new requests are refused (and until when), and which warning thresholds have
// just been crossed or left. A threshold's state lives in flags of the period's own document
// (`warn:<limit>:<t>`, `clear:<limit>:<t>`), so it is fired once and resolved once per client,
// threshold and period, across replicas and restarts; the I/O around these functions sets the flags.
import type { Limit } from './budget-config.ts';

/** One limit of one client in its current (or a finished) period. */
export interface LimitReading {
  readonly limit: Limit;
  /** The period's id (`day:2026-12-01`, `five_hour:<reset ms>`). */
  readonly periodId: string;
  /** When the period ends and the limit renews; null when unknown (a five-hour window without a reset). */
  readonly resetAtMs: number | null;
  /** Amount used (tokens, USD, plan units), or for five_hour_share the share of the window. */
  readonly used: number;
  /** The period document's flags. */
  readonly flags: Readonly<Record<string, number>>;
  /** The period is over (its warnings resolve). */
  readonly over?: boolean;
}

/** 1 stands for the limit itself: crossing it is the "exceeded" transition. */
export const EXCEEDED = 1;

export const warnFlag = (r: LimitReading, t: number) => `warn:${r.limit.name}:${t}`;
export const clearFlag = (r: LimitReading, t: number) => `clear:${r.limit.name}:${t}`;

/** Used fraction of the limit (≥ 1 when spent). */
export function usedRatio(r: LimitReading): number {
  return r.used / r.limit.max;
}

export interface Transitions {
  /** Thresholds crossed now whose warning has not fired in this period (ascending; 1 = exceeded). */
  fire: number[];
  /** Thresholds fired in this period and no longer crossed (the period is over, or the limit was raised). */
  resolve: number[];
}

/** What changed for one limit, given its reading and the client's warning thresholds. */
export function transitions(r: LimitReading, warnAt: readonly number[]): Transitions {
  const ratio = r.over === true ? 0 : usedRatio(r);
  const fire: number[] = [];
  const resolve: number[] = [];
  for (const t of [...warnAt, EXCEEDED]) {
    const fired = (r.flags[warnFlag(r, t)] ?? 0) > 0;
    const cleared = (r.flags[clearFlag(r, t)] ?? 0) > 0;
    if (!fired && ratio >= t && r.over !== true) fire.push(t);
    else if (fired && !cleared && ratio < t) resolve.push(t);
  }
  return { fire, resolve };
}

export type BudgetVerdict =
  | { admit: true }
  /** The limit that holds the client longest, its reset, and Retry-After in whole seconds. */
  | { admit: false; limit: Limit; resetAtMs: number | null; retryAfterSec: number };

const ADMIT: BudgetVerdict = { admit: true };
const UNKNOWN_RESET_RETRY_SEC = 300; // 5 min: a spent five-hour share without a known reset

/** Whether a client's new request may go now: refused while any limit is spent, until the latest
 *  reset among the spent ones (an exhausted monthly budget holds even after the day renews). */
export function budgetVerdict(readings: readonly LimitReading[], nowMs: number): BudgetVerdict {
  let worst: LimitReading | null = null;
  let until = 0;
  for (const r of readings) {
    if (r.over === true || usedRatio(r) < 1) continue;
    const at = r.resetAtMs ?? nowMs + UNKNOWN_RESET_RETRY_SEC * 1000;
    if (worst === null || at > until) {
      worst = r;
      until = at;
    }
  }
  if (worst === null) return ADMIT;
  return {
    admit: false,
    limit: worst.limit,
    resetAtMs: worst.resetAtMs,
    retryAfterSec: Math.max(1, Math.ceil((until - nowMs) / 1000)),
  };
}

/** A client's share of the five-hour window: its plan units over everything the proxy sent in the
 *  window, times the fraction of the window the proxy's own traffic used (Z.AI's used fraction less
 *  the share the forecast attributes to other machines on the account). */
export function fiveHourShare(
  clientUnits: number,
  totalUnits: number,
  usedFraction: number,
  externalShare: number,
): number {
  if (!(clientUnits > 0) || !(totalUnits > 0)) return 0;
  return (Math.min(clientUnits, totalUnits) / totalUnits) * usedFraction * (1 - externalShare);
}
