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

type Entry = Record<string, unknown>;

// Keeps only the named fields of an entry (shapes that carry less than the absolute one).
function pick(e: Entry, keys: readonly string[]): Entry {
  return Object.fromEntries(keys.filter((k) => k in e).map((k) => [k, e[k]]));
}
const PERCENTAGE = ['type', 'unit', 'number', 'percentage', 'nextResetTime'];
const REMAINING = ['type', 'unit', 'number', 'usage', 'remaining', 'nextResetTime'];

/** The monthly tool-call (MCP) allowance entry of current payloads. */
function toolEntry(resetAt: number): Entry {
  return {
    type: 'TIME_LIMIT',
    unit: 5,
    number: 1,
    usage: 1000,
    currentValue: 42,
    remaining: 958,
    percentage: 4,
    nextResetTime: resetAt,
    usageDetails: [{ modelCode: 'search-prime', usage: 42 }],
  };
}

/** The limits array in the spec's shape (default absolute: every field). */
function shaped(spec: ScenarioSpec, five: Entry, week: Entry): Entry[] {
  switch (spec.shape ?? 'absolute') {
    case 'absolute':
      return [five, week];
    case 'percentage':
      return [pick(five, PERCENTAGE), pick(week, PERCENTAGE)];
    case 'remaining':
      return [pick(five, REMAINING), pick(week, REMAINING)];
    case 'current':
      // As seen in 2026: percentage-only token windows, the tool allowance, and a type nobody knows yet.
      return [
        { ...pick(five, PERCENTAGE), type: 'TOKENS_LIMIT', number: 5 },
        { ...pick(week, PERCENTAGE), type: 'TOKENS_LIMIT', number: 1 },
        toolEntry(week.nextResetTime as number),
        { type: 'FUTURE_LIMIT', unit: 3, number: 1, percentage: 99 },
      ];
    case 'reversed':
      // Weekly first and the `number`s swapped: only `unit` tells the windows apart.
      return [
        { ...week, number: 5 },
        { ...five, number: 1 },
      ];
    case 'mixed':
      // Both schemas for each window.
      return [
        { ...pick(five, PERCENTAGE), type: 'TOKENS_LIMIT' },
        { ...five, type: 'CREDIT_LIMIT' },
        { ...pick(week, PERCENTAGE), type: 'TOKENS_LIMIT' },
        { ...week, type: 'CREDIT_LIMIT' },
      ];
    case 'fresh': {
      // An unused five-hour window: 0 % and no reset until first use.
      const { nextResetTime: _, ...rest } = five;
      return [{ ...rest, currentValue: 0, remaining: rest.usage, percentage: 0 }, week];
    }
  }
}

/** The success body; level=, limit_type=, five_hour_pct=, weekly_pct=, shape= and pad= shape it. */
export function quotaBody(spec: ScenarioSpec, state: QuotaState, now: number): Rendered {
  const type = spec.limitType ?? 'TOKENS_LIMIT';
  const five = limit(
    type,
    3, // unit 3: the five-hour window
    5,
    FIVE_HOUR_ALLOWANCE,
    usedFor(spec.fiveHourPct, FIVE_HOUR_ALLOWANCE, state.tokensServed),
    nextReset(state.startedAt, FIVE_HOURS_MS, now),
  );
  const week = limit(
    type,
    6, // unit 6: the weekly window
    7,
    WEEKLY_ALLOWANCE,
    usedFor(spec.weeklyPct, WEEKLY_ALLOWANCE, state.tokensServed),
    nextReset(state.startedAt, WEEK_MS, now),
  );
  const body: Record<string, unknown> = {
    code: 200,
    msg: 'Operation successful',
    success: true,
    data: { level: spec.level ?? 'pro', limits: shaped(spec, five, week) },
  };
  if (spec.pad !== undefined) body.padding = 'x'.repeat(spec.pad);
  return { kind: 'json', status: 200, body: JSON.stringify(body), usage: null };
}
