// The budgets file (CLIENT_BUDGETS_FILE) or CLIENT_BUDGETS text: per client name, limits on tokens,
// USD and plan units per day, week or month, a share of Z.AI's five-hour window, an in-flight cap and
// warning thresholds; a default for every client without an entry of its own. Parsed once at
// startup; every bad field is named in one error.

export type Period = 'day' | 'week' | 'month';
export type Measure = 'tokens' | 'usd' | 'plan_units';
/** A calendar limit (`tokens_per_day`) or the five-hour window share; the `budget` label's closed set. */
export type LimitName = `${Measure}_per_${Period}` | 'five_hour_share';

export const PERIODS: readonly Period[] = ['day', 'week', 'month'];
export const MEASURES: readonly Measure[] = ['tokens', 'usd', 'plan_units'];
export const LIMIT_NAMES: readonly LimitName[] = [
  ...MEASURES.flatMap((m) => PERIODS.map((p) => `${m}_per_${p}` as LimitName)),
  'five_hour_share',
];

/** One limit: what it counts, over which period, up to how much. */
export interface Limit {
  readonly name: LimitName;
  /** five_hour_share counts plan units, read as a share of the window. */
  readonly measure: Measure;
  readonly period: Period | 'five_hour';
  /** Tokens, USD or plan units; for five_hour_share a fraction in (0, 1]. */
  readonly max: number;
}

export interface ClientBudget {
  readonly limits: readonly Limit[];
  /** Requests of this client inside the proxy at once (running or waiting); null: no cap. */
  readonly maxInFlight: number | null;
  /** Ascending fractions in (0, 1): each crossing logs one warning per period. */
  readonly warnAt: readonly number[];
}

export interface BudgetConfig {
  readonly clients: ReadonlyMap<string, ClientBudget>;
  /** For every client without an entry of its own (each such client has its own budget of this size). */
  readonly default: ClientBudget | null;
}

export const DEFAULT_WARN_AT: readonly number[] = Object.freeze([0.8, 0.95]);
const MAX_THRESHOLDS = 5; // each threshold is a metric label value
const CLIENT_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const BUDGET_KEYS = new Set<string>([...LIMIT_NAMES, 'max_in_flight', 'warn_at']);
const TOP_KEYS = new Set(['warn_at', 'default', 'clients']);

/** Parses budgets text (JSON); throws an Error naming every bad field. */
export function parseBudgets(text: string): BudgetConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  const problems: string[] = [];
  if (!isObject(doc)) throw new Error('expected a JSON object with "clients" and/or "default"');
  for (const k of Object.keys(doc))
    if (!TOP_KEYS.has(k)) problems.push(`${k}: unknown key (expected warn_at, default, clients)`);
  const warnAt = doc.warn_at === undefined ? DEFAULT_WARN_AT : thresholds(doc.warn_at, 'warn_at', problems);
  const def = doc.default === undefined ? null : budget(doc.default, 'default', warnAt, problems);
  const clients = new Map<string, ClientBudget>();
  if (doc.clients !== undefined) {
    if (!isObject(doc.clients)) problems.push('clients: expected an object of client name → budget');
    else
      for (const [name, b] of Object.entries(doc.clients)) {
        if (!CLIENT_NAME.test(name)) {
          problems.push(`clients.${name}: not a client name (letters, digits, _ . : -; at most 128)`);
          continue;
        }
        const parsed = budget(b, `clients.${name}`, warnAt, problems);
        if (parsed !== null) clients.set(name, parsed);
      }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return Object.freeze({ clients, default: def });
}

/** The budget of a client name: its own entry, else the default, else null. */
export function budgetOf(cfg: BudgetConfig, name: string): ClientBudget | null {
  return cfg.clients.get(name) ?? cfg.default;
}

function budget(
  v: unknown,
  path: string,
  warnAt: readonly number[],
  problems: string[],
): ClientBudget | null {
  if (!isObject(v)) {
    problems.push(`${path}: expected an object of limits`);
    return null;
  }
  const limits: Limit[] = [];
  let maxInFlight: number | null = null;
  let own = warnAt;
  for (const [k, n] of Object.entries(v)) {
    if (!BUDGET_KEYS.has(k)) {
      problems.push(`${path}.${k}: unknown key (expected one of ${[...BUDGET_KEYS].join(', ')})`);
      continue;
    }
    if (k === 'warn_at') {
      own = thresholds(n, `${path}.warn_at`, problems);
      continue;
    }
    if (k === 'max_in_flight') {
      if (!Number.isInteger(n) || (n as number) < 1)
        problems.push(`${path}.max_in_flight: expected an integer ≥ 1`);
      else maxInFlight = n as number;
      continue;
    }
    if (k === 'five_hour_share') {
      if (typeof n !== 'number' || !(n > 0 && n <= 1))
        problems.push(`${path}.five_hour_share: expected a fraction in (0, 1], e.g. 0.4 for 40 %`);
      else limits.push({ name: k, measure: 'plan_units', period: 'five_hour', max: n });
      continue;
    }
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
      problems.push(`${path}.${k}: expected a positive number`);
      continue;
    }
    const [measure, period] = k.split('_per_') as [Measure, Period];
    limits.push({ name: k as LimitName, measure, period, max: n });
  }
  return Object.freeze({ limits: Object.freeze(limits), maxInFlight, warnAt: own });
}

function thresholds(v: unknown, path: string, problems: string[]): readonly number[] {
  if (
    !Array.isArray(v) ||
    v.length > MAX_THRESHOLDS ||
    !v.every((x) => typeof x === 'number' && x > 0 && x < 1) ||
    !v.every((x, i) => i === 0 || x > v[i - 1])
  ) {
    problems.push(
      `${path}: expected at most ${MAX_THRESHOLDS} ascending fractions in (0, 1), e.g. [0.8, 0.95]`,
    );
    return DEFAULT_WARN_AT;
  }
  return Object.freeze([...v] as number[]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
