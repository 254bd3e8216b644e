/** The Z.AI monitor API's quota/limit body (the shape the Go proxy's quota poller read), driven by the tokens the sim served. */
import type { Rendered } from './reply-content.ts';
import type { ScenarioSpec } from './scenarios.ts';

const FIVE_HOURS_MS = 5 * 3_600_000;
const WEEK_MS = 7 * 24 * 3_600_000;
// Small allowances so a demo run visibly moves the gauges.
const FIVE_HOUR_ALLOWANCE = 200_000; // tokens
const WEEKLY_ALLOWANCE = 2_000_000; // tokens

/** What the quota body is computed from. */
export interface QuotaState {
  /** Epoch ms (whole seconds) the windows are aligned to: the sim's start. */
  startedAt: number;
  /** Sum of every direction of every usage the sim reported since start or reset(). */
  tokensServed: number;
}

// The first window boundary after now, so resets roll forward like a real account's.
function nextReset(startedAt: number, period: number, now: number): number {
  const elapsed = Math.max(0, now - startedAt);
  return startedAt + (Math.floor(elapsed / period) + 1) * period;
}

function limit(
  type: string,
  unit: number,
  number: number,
  allowance: number,
  used: number,
  resetAt: number,
): Record<string, unknown> {
  return {
    type,
    unit,
    number,
    usage: allowance, // the total allowance, despite the name
    currentValue: used,
    remaining: Math.max(0, allowance - used),
    percentage: Math.round((used / allowance) * 100),
    nextResetTime: resetAt,
  };
}

function usedFor(pct: number | undefined, allowance: number, served: number): number {
  return pct === undefined ? served : Math.round((allowance * pct) / 100);
}

/** The success body; level=, limit_type=, five_hour_pct= and weekly_pct= override the defaults. */
export function quotaBody(spec: ScenarioSpec, state: QuotaState, now: number): Rendered {
  const type = spec.limitType ?? 'TOKENS_LIMIT';
  const body = {
    code: 200,
    msg: 'Operation successful',
    success: true,
    data: {
      level: spec.level ?? 'pro',
      limits: [
        limit(
          type,
          3, // unit 3: the five-hour window
          5,
          FIVE_HOUR_ALLOWANCE,
          usedFor(spec.fiveHourPct, FIVE_HOUR_ALLOWANCE, state.tokensServed),
          nextReset(state.startedAt, FIVE_HOURS_MS, now),
        ),
        limit(
          type,
          6, // unit 6: the weekly window
          7,
          WEEKLY_ALLOWANCE,
          usedFor(spec.weeklyPct, WEEKLY_ALLOWANCE, state.tokensServed),
          nextReset(state.startedAt, WEEK_MS, now),
        ),
      ],
    },
  };
  return { kind: 'json', status: 200, body: JSON.stringify(body), usage: null };
}
