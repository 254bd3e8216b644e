// Normaliser of Z.AI's quota/limit payload: every shape seen in the wild becomes one snapshot of
// named windows. Pure; never throws; keeps no provider text (message, model codes) so nothing the
// provider wrote can reach a log line, an error or a metric through it.
//
// Shapes: `TOKENS_LIMIT` and `CREDIT_LIMIT` entries both occur in current payloads, each with
// absolute `usage` (the allowance, despite the name) / `currentValue` (used) / `remaining`, or only
// `percentage`. A window is named by its `unit` (3 = five hours, 6 = a week) and never by its
// position or `number`, which varies between payloads: a parser that kept one variable per type let
// the weekly entry overwrite the five-hour one. `TIME_LIMIT` (unit 5) is the monthly tool-call
// (MCP) allowance, kept apart from the token windows.

/** A token window the gate and the original's metrics know; the `window` label's closed set. */
export type QuotaWindow = 'five_hour' | 'weekly';
export const QUOTA_WINDOWS: readonly QuotaWindow[] = ['five_hour', 'weekly'];

/** The provider's schema name, upper-cased as in /health. */
export type LimitType = 'TOKENS_LIMIT' | 'CREDIT_LIMIT';

export interface WindowSample {
  window: QuotaWindow;
  limitType: LimitType;
  /** Used fraction in [0, 1]; an overdrawn window reads 1. */
  usedFraction: number;
  /** Next reset (Unix ms), or null when the provider gave none (a fresh window starts on first use). */
  resetAtMs: number | null;
  /** Absolute amounts when the payload has them, else null. */
  used: number | null;
  limit: number | null;
}

/** The monthly tool-call (MCP) allowance. */
export interface ToolSample {
  usedFraction: number | null;
  used: number | null;
  limit: number | null;
  remaining: number | null;
  resetAtMs: number | null;
}

export interface QuotaSnapshot {
  fetchedAtMs: number;
  /** `data.level` when it is a short plain word (`lite`, `pro`, `max`), else ''. */
  planTier: string;
  /** At most one per window, in QUOTA_WINDOWS order. */
  windows: WindowSample[];
  tools: ToolSample | null;
}

/** A payload the poller cannot use; `reason` is the proxy's own wording, never the provider's. */
export interface QuotaParseFailure {
  outcome: 'error' | 'malformed';
  reason: string;
  /** The provider's numeric `code` when it refused (kept in memory only). */
  providerCode: number | null;
}

export type QuotaParseResult = { ok: true; snapshot: QuotaSnapshot } | ({ ok: false } & QuotaParseFailure);

const UNIT_WINDOW: ReadonlyMap<number, QuotaWindow> = new Map([
  [3, 'five_hour'],
  [6, 'weekly'],
]);
const TOKEN_TYPES: ReadonlyMap<string, LimitType> = new Map([
  ['TOKENS_LIMIT', 'TOKENS_LIMIT'],
  ['CREDIT_LIMIT', 'CREDIT_LIMIT'],
]);
const TOOL_TYPE = 'TIME_LIMIT';
const PLAN_TIER = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_PLAUSIBLE_MS = 1e12; // Unix 1e9 s ≈ 2001: anything earlier is not a reset instant
const MAX_PLAUSIBLE_MS = 2e13; // ≈ year 2603

/** Parses and normalises one quota/limit body. */
export function parseQuotaPayload(text: string, fetchedAtMs: number): QuotaParseResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail('malformed', 'response is not valid JSON');
  }
  if (!isObject(body)) return fail('malformed', 'response is missing its data.limits array');
  const code = body.code;
  if (code !== undefined && code !== null && typeof code !== 'number')
    return fail('malformed', 'response has a non-numeric code');
  const providerCode = typeof code === 'number' ? code : null;
  // `success: false` is a refusal whatever the code; without `success`, a code other than 0/200 is.
  if (
    body.success === false ||
    (body.success === undefined && providerCode !== null && providerCode !== 0 && providerCode !== 200)
  ) {
    return {
      ok: false,
      outcome: 'error',
      reason: `quota poll rejected: provider code ${providerCode ?? 'none'}`,
      providerCode,
    };
  }
  const data = body.data;
  const limits = isObject(data) ? data.limits : undefined;
  if (!Array.isArray(limits)) return fail('malformed', 'response is missing its data.limits array');
  const level = (data as Record<string, unknown>).level;
  const planTier = typeof level === 'string' && PLAN_TIER.test(level) ? level.toLowerCase() : '';

  const byWindow = new Map<QuotaWindow, WindowSample>();
  let tools: ToolSample | null = null;
  for (const entry of limits) {
    if (!isObject(entry) || typeof entry.type !== 'string')
      return fail('malformed', 'a limit entry has no type');
    const type = entry.type.toUpperCase();
    const limitType = TOKEN_TYPES.get(type);
    if (limitType === undefined && type !== TOOL_TYPE) continue; // a future type: not ours to guess
    const n = numbers(entry);
    if (n === null) return fail('malformed', 'a limit entry has a non-numeric field');
    if (limitType === undefined) {
      if (tools === null) tools = toolSample(n);
      continue;
    }
    const window = n.unit === null ? undefined : UNIT_WINDOW.get(n.unit);
    if (window === undefined) continue;
    const s = windowSample(window, limitType, n);
    if (s === null) continue; // no usable signal in this entry
    const prev = byWindow.get(window);
    // Both schemas may describe one window; the more spent reading is the one to act on.
    if (prev === undefined || s.usedFraction > prev.usedFraction) byWindow.set(window, s);
  }
  const windows = QUOTA_WINDOWS.flatMap((w) => {
    const s = byWindow.get(w);
    return s === undefined ? [] : [s];
  });
  return { ok: true, snapshot: { fetchedAtMs, planTier, windows, tools } };
}

interface Numbers {
  unit: number | null;
  usage: number | null;
  currentValue: number | null;
  remaining: number | null;
  percentage: number | null;
  nextResetTime: number | null;
}

// The numeric fields of an entry; null when one of them has another JSON type.
function numbers(e: Record<string, unknown>): Numbers | null {
  const out: Record<string, number | null> = {};
  for (const k of ['unit', 'usage', 'currentValue', 'remaining', 'percentage', 'nextResetTime']) {
    const v = e[k];
    if (v === undefined || v === null) out[k] = null;
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else return null;
  }
  return out as unknown as Numbers;
}

function windowSample(window: QuotaWindow, limitType: LimitType, n: Numbers): WindowSample | null {
  const { used, limit } = absolute(n);
  let fraction: number | null = null;
  if (used !== null && limit !== null && limit > 0) fraction = used / limit;
  else if (n.percentage !== null) fraction = n.percentage / 100;
  if (fraction === null) return null;
  return {
    window,
    limitType,
    usedFraction: clamp01(fraction),
    resetAtMs: reset(n.nextResetTime),
    used,
    limit,
  };
}

function toolSample(n: Numbers): ToolSample {
  const { used, limit } = absolute(n);
  let fraction: number | null = null;
  if (used !== null && limit !== null && limit > 0) fraction = clamp01(used / limit);
  else if (n.percentage !== null) fraction = clamp01(n.percentage / 100);
  const remaining = n.remaining ?? (used !== null && limit !== null ? Math.max(0, limit - used) : null);
  return {
    usedFraction: fraction,
    used,
    limit,
    remaining: remaining === null ? null : Math.max(0, remaining),
    resetAtMs: reset(n.nextResetTime),
  };
}

// Used and allowance from whichever two of usage/currentValue/remaining the entry has.
function absolute(n: Numbers): { used: number | null; limit: number | null } {
  const limit =
    n.usage ?? (n.currentValue !== null && n.remaining !== null ? n.currentValue + n.remaining : null);
  const used = n.currentValue ?? (n.usage !== null && n.remaining !== null ? n.usage - n.remaining : null);
  return {
    used: used === null ? null : Math.max(0, used),
    limit: limit === null ? null : Math.max(0, limit),
  };
}

function reset(ms: number | null): number | null {
  return ms !== null && ms >= MIN_PLAUSIBLE_MS && ms <= MAX_PLAUSIBLE_MS ? Math.round(ms) : null;
}

function clamp01(x: number): number {
  if (!(x > 0)) return 0; // NaN and negatives
  return Math.min(x, 1);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fail(outcome: 'error' | 'malformed', reason: string): QuotaParseResult {
  return { ok: false, outcome, reason, providerCode: null };
}
