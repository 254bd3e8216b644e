// Plan-usage estimate: what a request consumes of a GLM Coding Plan's quota windows, in plan units,
// kept apart from USD cost. Z.AI charges some models' coding-plan quota at a multiple that depends
// on the hour (GLM-5.1 and GLM-5-Turbo: 3x in peak hours, 2x off-peak), while API prices are the
// same at every hour; the quota forecast reads these units, the cost counters read pricing.ts.
//
// units = (input·w_input + output·w_output + cache_read·w_cache_read + cache_write·w_cache_write)
//         × (peak ? m_peak : m_off_peak)
// One unit is one full-price token. The weights and multipliers come from the `plan` member of
// the price file's entries, layered over DEFAULT_PLAN_TABLE.
import type { PriceTable, PricingTier } from './pricing.ts';
import { DIRECTIONS, type Usage } from './types.ts';

/** A price-file entry's `plan` member: tier multipliers and per-direction weights, all optional. */
export interface PlanEntry {
  peak?: number;
  off_peak?: number;
  input?: number;
  output?: number;
  cache_read?: number;
  cache_write?: number;
}
type PlanRates = Readonly<Required<PlanEntry>>;

const PLAN_KEYS: readonly (keyof PlanEntry)[] = ['peak', 'off_peak', ...DIRECTIONS];

/** Built-in plan weights, where each number comes from:
 *  - glm-5.1, glm-5-turbo: 3x peak, 2x off-peak (docs.z.ai devpack FAQ; Z.AI has run 1x off-peak
 *    promotions, so set off_peak to 1 while one runs);
 *  - every other model: 1x at all hours (no published multiplier);
 *  - cache_read 0.2: a cache hit is billed at 1/5 of the input price (docs.z.ai help FAQ), assumed
 *    to hold for quota too; cache_write 1: written cache is input that was sent, storage is free. */
export const DEFAULT_PLAN_TABLE: Readonly<Record<string, Readonly<PlanEntry>>> = Object.freeze({
  '*': Object.freeze({ peak: 1, off_peak: 1, input: 1, output: 1, cache_read: 0.2, cache_write: 1 }),
  'glm-5.1': Object.freeze({ peak: 3, off_peak: 2 }),
  'glm-5-turbo': Object.freeze({ peak: 3, off_peak: 2 }),
});

/** Plan units of one configuration. */
export interface PlanUsage {
  /** The quota multiplier of a (folded) model in a tier. */
  multiplier(model: string, tier: PricingTier): number;
  /** Plan units of one request's usage. */
  units(model: string, usage: Usage, tier: PricingTier): number;
}

/** Builds the plan-usage estimate from a (validated) price table. Layering, most specific last:
 *  built-in '*', the table's '*', the built-in model entry, the table's model entry. */
export function createPlanUsage(table: PriceTable = {}): PlanUsage {
  const star: PlanRates = {
    ...(DEFAULT_PLAN_TABLE['*'] as PlanRates),
    ...table['*']?.plan,
  };
  const byModel = new Map<string, PlanRates>();
  for (const model of new Set([...Object.keys(DEFAULT_PLAN_TABLE), ...Object.keys(table)])) {
    if (model === '*') continue;
    byModel.set(model, { ...star, ...DEFAULT_PLAN_TABLE[model], ...table[model]?.plan });
  }
  const rates = (model: string) => byModel.get(model) ?? star;
  return {
    multiplier(model, tier) {
      const r = rates(model);
      return tier === 'peak' ? r.peak : r.off_peak;
    },
    units(model, u, tier) {
      const r = rates(model);
      const weighted =
        pos(u.input) * r.input +
        pos(u.output) * r.output +
        pos(u.cache_read) * r.cache_read +
        pos(u.cache_write) * r.cache_write;
      return weighted * (tier === 'peak' ? r.peak : r.off_peak);
    },
  };
}

/** Throws an Error naming the field when a price-table entry's `plan` member is malformed. */
export function validatePlanEntry(model: string, v: unknown): asserts v is PlanEntry {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`price table: ${JSON.stringify(model)}.plan must be an object`);
  }
  for (const [k, n] of Object.entries(v)) {
    if (!(PLAN_KEYS as readonly string[]).includes(k)) {
      throw new Error(
        `price table: ${JSON.stringify(model)}.plan.${k} is not one of ${PLAN_KEYS.join(', ')}`,
      );
    }
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw new Error(`price table: ${JSON.stringify(model)}.plan.${k} must be a non-negative number`);
    }
  }
}

// A count that is not positive (or NaN) adds nothing.
function pos(n: number): number {
  if (!(n > 0)) return 0;
  return n;
}
