// Estimated USD cost per direction and model at list price, and the peak window that names the
// `pricing_tier` of every recorded token.
//
// Z.AI's peak hours are 14:00–18:00 every day in Beijing time (UTC+8, no DST), i.e. 06:00–10:00 UTC.
// The original priced peak as [02:00, 06:00) at a fixed UTC-5 offset (07:00–11:00 UTC: an hour late
// all year) and doubled the USD price in it. Peak multipliers belong to coding-plan quota
// consumption (plan-units.ts), not to API prices, which are the same at every hour: the USD peak
// multiplier defaults to 1 and stays configurable.
import { foldModel } from './models.ts';
import { type PlanEntry, validatePlanEntry } from './plan-units.ts';
import { DIRECTIONS, type Direction } from './types.ts';

/** Which price level applies at a moment. */
export type PricingTier = 'peak' | 'off_peak';

/** One model's entry: USD per 1K tokens by direction, and optionally its plan-usage weights. */
export type PriceEntry = Partial<Record<Direction, number>> & { plan?: PlanEntry };

/** USD per 1K tokens by folded model label and direction; key '*' = default for any model. */
export interface PriceTable {
  [model: string]: PriceEntry;
}

/** Options of createPricing. */
export interface PricingOptions {
  /** Layered over DEFAULT_PRICE_TABLE: a missing model or direction falls back to '*', then the default. */
  table?: PriceTable;
  /** 'HH:MM' wall-clock start of the peak window (inclusive). */
  peakStart: string;
  /** 'HH:MM' end (exclusive); may be before peakStart for a window across midnight; equal = no window. */
  peakEnd: string;
  /** IANA time zone the window is read in, e.g. 'Asia/Shanghai'. */
  timeZone: string;
  /** Factor applied to every USD rate during the peak window (default 1; the original: 2). */
  peakMultiplier: number;
}

/** Tier lookup and cost arithmetic for one configuration. */
export interface Pricing {
  /** The tier at nowMs (epoch ms); cached per minute. */
  tier(nowMs: number): PricingTier;
  /** USD for n tokens of one direction of a (folded) model in a tier; peak multiplies by peakMultiplier. */
  cost(model: string, direction: Direction, tokens: number, tier: PricingTier): number;
}

/** The original's GLM-4.7 public prices (accessed 2026-08-20) for every model, USD per 1K tokens. */
export const DEFAULT_PRICE_TABLE: PriceTable = Object.freeze({
  '*': Object.freeze({ input: 0.0006, output: 0.0022, cache_read: 0.00011, cache_write: 0 }),
});

/** The defaults to pass: Z.AI's peak hours, 14:00–18:00 Beijing time every day, and list price at
 *  every hour (API usage is billed the same in and out of peak hours). */
export const DEFAULT_PRICING_OPTIONS: Readonly<PricingOptions> = Object.freeze({
  peakStart: '14:00',
  peakEnd: '18:00',
  timeZone: 'Asia/Shanghai',
  peakMultiplier: 1,
});

type Rates = Readonly<Record<Direction, number>>;

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const MINUTE_MS = 60_000; // 1 min

/** Validates options and builds a Pricing; throws an Error naming the bad field. */
export function createPricing(opts: PricingOptions): Pricing {
  const start = minuteOfDay(opts.peakStart, 'peakStart');
  const end = minuteOfDay(opts.peakEnd, 'peakEnd');
  const mult = opts.peakMultiplier;
  if (typeof mult !== 'number' || !Number.isFinite(mult) || mult < 0) {
    throw new Error(`pricing: peakMultiplier must be a non-negative number, got ${String(mult)}`);
  }
  let fmt: Intl.DateTimeFormat;
  try {
    // Built once: constructing a DateTimeFormat costs far more than formatting with one.
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: opts.timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    throw new Error(`pricing: timeZone ${JSON.stringify(opts.timeZone)} is not an IANA time zone`);
  }
  const rates = resolveTable(opts.table ?? DEFAULT_PRICE_TABLE);
  const fallback = rates.get('*')!;
  let cachedMinute = Number.NaN;
  let cachedTier: PricingTier = 'off_peak';

  return {
    tier(nowMs) {
      // Every current zone offset is a whole number of minutes, so the wall-clock minute (and the tier)
      // changes only on UTC minute boundaries: format at most once a minute.
      const minute = Math.floor(nowMs / MINUTE_MS);
      if (minute !== cachedMinute) {
        cachedTier = inWindow(localMinuteOfDay(fmt, nowMs), start, end) ? 'peak' : 'off_peak';
        cachedMinute = minute;
      }
      return cachedTier;
    },
    cost(model, direction, tokens, tier) {
      if (!(tokens > 0)) return 0;
      const rate = (rates.get(model) ?? fallback)[direction];
      return (tokens / 1000) * rate * (tier === 'peak' ? mult : 1);
    },
  };
}

/** Parses a pricing file/env JSON text into a PriceTable, throwing an Error that says what is wrong. */
export function parsePriceTable(text: string): PriceTable {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`price table is not valid JSON: ${(err as Error).message}`);
  }
  validateTable(v);
  return v;
}

function validateTable(v: unknown): asserts v is PriceTable {
  if (!isPlainObject(v))
    throw new Error('price table must be a JSON object of model → {direction: USD per 1K}');
  for (const [model, entry] of Object.entries(v)) {
    if (model !== '*' && foldModel(model) !== model) {
      throw new Error(
        `price table: model ${JSON.stringify(model)} is not a model label (use '*' or a folded name such as 'glm-4.6' or 'claude-sonnet')`,
      );
    }
    if (!isPlainObject(entry)) throw new Error(`price table: ${JSON.stringify(model)} must be an object`);
    for (const [dir, rate] of Object.entries(entry)) {
      if (dir === 'plan') {
        validatePlanEntry(model, rate);
        continue;
      }
      if (!(DIRECTIONS as readonly string[]).includes(dir)) {
        throw new Error(
          `price table: ${JSON.stringify(model)}.${dir} is not a direction (${DIRECTIONS.join(', ')}) or plan`,
        );
      }
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
        throw new Error(`price table: ${JSON.stringify(model)}.${dir} must be a non-negative number`);
      }
    }
  }
}

// Every model's full rate set, resolved once: model entry, then the table's '*', then the default '*'.
function resolveTable(table: PriceTable): Map<string, Rates> {
  validateTable(table);
  const base = DEFAULT_PRICE_TABLE['*'] as Rates;
  const star: Rates = { ...base, ...usd(table['*']) };
  const out = new Map<string, Rates>([['*', star]]);
  for (const [model, entry] of Object.entries(table)) {
    if (model !== '*') out.set(model, { ...star, ...usd(entry) });
  }
  return out;
}

// The USD rates of an entry, without its plan member.
function usd(entry: PriceEntry | undefined): Partial<Rates> {
  if (entry === undefined) return {};
  const { plan: _plan, ...rates } = entry;
  return rates;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function minuteOfDay(hhmm: string, field: string): number {
  const m = typeof hhmm === 'string' ? HH_MM.exec(hhmm) : null;
  if (m === null)
    throw new Error(`pricing: ${field} must be 'HH:MM' (00:00–23:59), got ${JSON.stringify(hhmm)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function localMinuteOfDay(fmt: Intl.DateTimeFormat, nowMs: number): number {
  let h = 0;
  let min = 0;
  for (const p of fmt.formatToParts(nowMs)) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') min = Number(p.value);
  }
  return h * 60 + min;
}

// [start, end) in minutes of the day; start > end wraps past midnight; start === end is an empty window.
function inWindow(m: number, start: number, end: number): boolean {
  return start <= end ? m >= start && m < end : m >= start || m < end;
}
