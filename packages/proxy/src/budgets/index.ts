// Per-client budgets: what each client may spend per day, week or month (tokens, USD, plan units)
// and of Z.AI's five-hour window, with warnings before the limit and a 429 once it is spent. A thin
// admission in front of the quota gate and the pacing admission (wrap), fed by the usage tap when an
// exchange ends (record). Spent amounts and warning flags live in the admission state store (state
// file locally, Redis with REDIS_URL; budget-ledger.ts), so a restart keeps them and replicas
// enforce one budget. This module turns them into refusals, log lines, metrics and reports.
import { readFileSync } from 'node:fs';
import { clientBucket } from '../admission/client-buckets.ts';
import type { Admission } from '../admission/index.ts';
import type { StateStore } from '../admission/state-store.ts';
import { type Config, ConfigError } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { ClientIdentity } from '../http/auth.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { QuotaWindowView } from '../quota/index.ts';
import { type BudgetConfig, budgetOf, type ClientBudget, type Limit, parseBudgets } from './budget-config.ts';
import { type ClientState, createLedger, type Spend } from './budget-ledger.ts';
import {
  budgetVerdict,
  clearFlag,
  EXCEEDED,
  type LimitReading,
  usedRatio,
  warnFlag,
} from './budget-verdict.ts';

export { type BudgetConfig, budgetOf, parseBudgets } from './budget-config.ts';
export type { Spend } from './budget-ledger.ts';

export interface BudgetsDeps {
  store: StateStore;
  now(): number;
  log: Logger;
  metrics: Metrics;
  /** The quota module's five-hour window (null without a fresh poll that gave a reset). */
  fiveHour(): QuotaWindowView | null;
  /** How often a shared store's documents are re-read for the clients this replica serves. */
  refreshMs?: number;
}

export interface Budgets {
  /** `inner` behind the budgets; `inner` itself when none are configured. */
  wrap(inner: Admission): Admission;
  /** The usage tap's sink; null when no budget needs usage (the tap then does nothing for it). */
  readonly record: ((client: ClientIdentity, s: Spend) => void) | null;
  /** A client's max_in_flight for admission's enter(); undefined when no client has one. */
  readonly inflightCap: ((client: ClientIdentity) => number | null) | undefined;
  /** The `budgets` section of /health. */
  health(): Record<string, unknown>;
  /** GET /admin/budgets: every configured client (and every other one seen) with use and remaining. */
  report(): Promise<Record<string, unknown>>;
  /** Resolves when every write started so far has landed (tests, shutdown). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** No budgets configured: nothing on the request path. */
export const noBudgets: Budgets = {
  wrap: (inner) => inner,
  record: null,
  inflightCap: undefined,
  health: () => ({ enabled: false }),
  report: () => Promise.resolve({ enabled: false, clients: [] }),
  settled: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** The budgets of the config (CLIENT_BUDGETS or CLIENT_BUDGETS_FILE), or null when there are none.
 *  Throws ConfigError naming the variable for a bad file or a budget the proxy cannot measure. */
export function loadBudgetConfig(
  cfg: Pick<
    Config,
    'CLIENT_BUDGETS' | 'CLIENT_BUDGETS_FILE' | 'TOKEN_COUNTING_ENABLED' | 'QUOTA_POLL_ENABLED' | 'ZAI_API_KEY'
  >,
): BudgetConfig | null {
  let name: string;
  let text: string;
  if (cfg.CLIENT_BUDGETS !== undefined) {
    name = 'CLIENT_BUDGETS';
    text = cfg.CLIENT_BUDGETS;
  } else if (cfg.CLIENT_BUDGETS_FILE !== undefined) {
    name = 'CLIENT_BUDGETS_FILE';
    try {
      text = readFileSync(cfg.CLIENT_BUDGETS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(
        [name],
        [`${name}: cannot read ${cfg.CLIENT_BUDGETS_FILE}: ${(err as NodeJS.ErrnoException).code}`],
      );
    }
  } else return null;
  let b: BudgetConfig;
  try {
    b = parseBudgets(text);
  } catch (err) {
    throw new ConfigError([name], [`${name}: ${(err as Error).message}`]);
  }
  const all = [...b.clients.values(), ...(b.default === null ? [] : [b.default])];
  if (all.length === 0) return null;
  const limits = all.flatMap((x) => x.limits);
  if (!cfg.TOKEN_COUNTING_ENABLED && limits.length > 0)
    throw new ConfigError([name], [`${name}: spending limits need TOKEN_COUNTING_ENABLED=true`]);
  if (
    limits.some((l) => l.period === 'five_hour') &&
    !(cfg.QUOTA_POLL_ENABLED && cfg.ZAI_API_KEY !== undefined)
  )
    throw new ConfigError(
      [name],
      [`${name}: five_hour_share reads the polled window: it needs QUOTA_POLL_ENABLED=true and ZAI_API_KEY`],
    );
  return b;
}

export function createBudgets(cfg: BudgetConfig, timeZone: string, d: BudgetsDeps): Budgets {
  const { store, log, metrics: m } = d;
  const v = m.variant;
  const everyone = [...cfg.clients.values(), ...(cfg.default === null ? [] : [cfg.default])];
  const anyCap = everyone.some((b) => b.maxInFlight !== null);
  const anyLimit = everyone.some((b) => b.limits.length > 0);
  let warnedAt = Number.NEGATIVE_INFINITY;

  function onError(err: unknown): void {
    if (Date.now() - warnedAt < 60_000) return; // once a minute: a store outage must not flood the log
    warnedAt = Date.now();
    log.warn(
      { err: (err as Error).message },
      'Budgets: state store unavailable; spent amounts are not updated until it is back',
    );
  }
  const warnings = new Map<string, { inc(): void }>();
  function fired(st: ClientState, r: LimitReading, t: number): void {
    const k = `${st.label}\u0000${r.limit.name}\u0000${t}`;
    let c = warnings.get(k);
    if (c === undefined) {
      c = m.budgetWarnings.labels(st.label, r.limit.name, String(t), v);
      warnings.set(k, c);
    }
    c.inc();
    const fields = { client: st.name, budget: r.limit.name, threshold: t, period: r.periodId, used: r.used };
    const amount = describe(r);
    if (t === EXCEEDED)
      log.warn(
        fields,
        `Budget exceeded: ${st.name} has used all of ${r.limit.name} (${amount}); new requests get 429 until ${iso(r.resetAtMs)}`,
      );
    else
      log.warn(
        fields,
        `Budget warning: ${st.name} has used ${pct(t)} of ${r.limit.name} (${amount}); it resets at ${iso(r.resetAtMs)}`,
      );
  }
  function resolved(st: ClientState, r: LimitReading, t: number): void {
    const why = r.over === true ? `period ${r.periodId} ended` : 'the limit was raised';
    const fields = { client: st.name, budget: r.limit.name, threshold: t, period: r.periodId };
    if (t === EXCEEDED)
      log.info(fields, `Budget exceeded resolved: ${st.name} may spend ${r.limit.name} again (${why})`);
    else
      log.info(
        fields,
        `Budget warning resolved: ${st.name} is back under ${pct(t)} of ${r.limit.name} (${why})`,
      );
  }
  function describe(r: LimitReading): string {
    const l = r.limit;
    if (l.period === 'five_hour') return `${pct(r.used)} of the five-hour window, limit ${pct(l.max)}`;
    const unit = l.measure === 'usd' ? 'USD' : l.measure === 'tokens' ? 'tokens' : 'plan units';
    return `${round(r.used)} of ${round(l.max)} ${unit} this ${l.period} in ${timeZone}`;
  }

  const ledger = createLedger(cfg, timeZone, {
    store,
    now: d.now,
    fiveHour: d.fiveHour,
    ...(d.refreshMs !== undefined ? { refreshMs: d.refreshMs } : {}),
    onError,
    fired,
    resolved,
  });
  const { clients } = ledger;

  const rejections = new Map<string, { inc(): void }>();
  function refuse(
    st: ClientState,
    limit: Limit,
    resetAtMs: number | null,
    retryAfterSec: number,
  ): Promise<never> {
    const k = `${st.label}\u0000${limit.name}`;
    let c = rejections.get(k);
    if (c === undefined) {
      c = m.budgetRejections.labels(st.label, limit.name, v);
      rejections.set(k, c);
    }
    c.inc();
    const what =
      limit.period === 'five_hour'
        ? `its budget five_hour_share (${pct(limit.max)} of Z.AI's five-hour window)`
        : `its budget ${limit.name} (${round(limit.max)} ${limit.measure === 'usd' ? 'USD' : limit.measure.replace('_', ' ')} per ${limit.period} in ${timeZone})`;
    const when = resetAtMs === null ? `retry after ${retryAfterSec} s` : `it resets at ${iso(resetAtMs)}`;
    return Promise.reject(
      new GatewayError('BUDGET_EXCEEDED', `${st.name} has used up ${what}; ${when}`, retryAfterSec),
    );
  }

  function judge(
    st: ClientState,
    inner: Admission,
    req: Parameters<Admission['acquire']>[0],
    signal: AbortSignal,
  ) {
    const now = d.now();
    const verdict = budgetVerdict(ledger.readings(st), now);
    if (!verdict.admit) return refuse(st, verdict.limit, verdict.resetAtMs, verdict.retryAfterSec);
    return inner.acquire(req, signal);
  }

  function clientView(st: ClientState): Record<string, unknown> {
    const now = d.now();
    const readings = ledger.readings(st);
    const limits: Record<string, unknown>[] = readings.map((r) => {
      const ratio = usedRatio(r);
      const warned = [...st.budget.warnAt, EXCEEDED].filter(
        (t) => (r.flags[warnFlag(r, t)] ?? 0) > 0 && (r.flags[clearFlag(r, t)] ?? 0) === 0,
      );
      return {
        budget: r.limit.name,
        period: r.periodId,
        used: r.used,
        limit: r.limit.max,
        remaining: Math.max(0, r.limit.max - r.used),
        used_ratio: ratio,
        ...(r.resetAtMs !== null ? { resets_at: iso(r.resetAtMs) } : {}),
        warnings: warned,
        exceeded: ratio >= 1,
      };
    });
    for (const l of st.budget.limits)
      if (l.period === 'five_hour' && !readings.some((r) => r.limit === l))
        limits.push({ budget: l.name, used: null, limit: l.max, remaining: null, enforced: false });
    const verdict = budgetVerdict(readings, now);
    return {
      client: st.name,
      ...(cfg.clients.has(st.name) ? {} : { budget: 'default' }),
      ...(st.budget.maxInFlight !== null ? { max_in_flight: st.budget.maxInFlight } : {}),
      refused: !verdict.admit,
      ...(verdict.admit ? {} : { refused_until: iso(verdict.resetAtMs), budget_spent: verdict.limit.name }),
      limits,
    };
  }

  // Gauges from this replica's copy, computed when Prometheus scrapes: clients without an entry of
  // their own share a source-NN label, whose value is the most spent of them.
  m.scrapeHooks.budgets = () => {
    const ratios = new Map<string, [string, string, number]>();
    const active = new Map<string, [string, string, string, number]>();
    for (const st of clients.values()) {
      for (const r of ledger.readings(st)) {
        const k = `${st.label}\u0000${r.limit.name}`;
        ratios.set(k, [st.label, r.limit.name, Math.max(ratios.get(k)?.[2] ?? 0, usedRatio(r))]);
        for (const t of [...st.budget.warnAt, EXCEEDED]) {
          const on = (r.flags[warnFlag(r, t)] ?? 0) > 0 && (r.flags[clearFlag(r, t)] ?? 0) === 0 ? 1 : 0;
          const kt = `${k}\u0000${t}`;
          active.set(kt, [st.label, r.limit.name, String(t), Math.max(active.get(kt)?.[3] ?? 0, on)]);
        }
      }
    }
    m.budgetUsedRatio.reset();
    m.budgetWarningActive.reset();
    for (const [label, budget, ratio] of ratios.values())
      m.budgetUsedRatio.labels(label, budget, v).set(ratio);
    for (const [label, budget, t, on] of active.values())
      m.budgetWarningActive.labels(label, budget, t, v).set(on);
  };

  return {
    wrap(inner) {
      if (!anyLimit) return inner;
      return {
        acquire(req, signal) {
          // A retry belongs to a request admitted already; count_tokens and the model list spend nothing.
          if (req.attempt > 0 || req.route === 'count_tokens' || req.route === 'models')
            return inner.acquire(req, signal);
          const st = ledger.stateOfClient(req.client);
          if (st === null) return inner.acquire(req, signal);
          st.seenAt = d.now();
          if (!ledger.fresh(st, st.seenAt)) return ledger.load(st).then(() => judge(st, inner, req, signal));
          return judge(st, inner, req, signal);
        },
        health: () => inner.health(),
        ...(inner.requeuesConcurrency !== undefined
          ? { requeuesConcurrency: inner.requeuesConcurrency }
          : {}),
        close: () => inner.close?.() ?? Promise.resolve(),
      };
    },
    record: anyLimit ? ledger.record : null,
    inflightCap: anyCap ? (c) => budgetOf(cfg, c.name)?.maxInFlight ?? null : undefined,
    health() {
      const list = [...clients.values()].slice(0, 50).map(clientView);
      return {
        enabled: true,
        time_zone: timeZone,
        source: store.source,
        clients_tracked: clients.size,
        refused: [...clients.values()].filter((st) => !budgetVerdict(ledger.readings(st), d.now()).admit)
          .length,
        clients: list,
      };
    },
    async report() {
      await ledger.settle();
      const now = d.now();
      for (const name of cfg.clients.keys()) {
        const st = ledger.stateOf(name, clientBucket({ kind: 'key', name }));
        if (st !== null && !ledger.fresh(st, now)) await ledger.load(st);
      }
      await Promise.all([...clients.values()].filter((st) => !ledger.fresh(st, now)).map(ledger.load));
      return {
        enabled: true,
        time_zone: timeZone,
        source: store.source,
        ...(cfg.default !== null ? { default: budgetDoc(cfg.default) } : {}),
        clients: [...clients.values()].map(clientView),
      };
    },
    settled: () => ledger.settle(),
    close: () => ledger.close(),
  };
}

function budgetDoc(b: ClientBudget): Record<string, unknown> {
  return {
    ...Object.fromEntries(b.limits.map((l) => [l.name, l.max])),
    ...(b.maxInFlight !== null ? { max_in_flight: b.maxInFlight } : {}),
    warn_at: b.warnAt,
  };
}

const pct = (f: number) => `${Math.round(f * 1000) / 10} %`;
const round = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 4 : 2));
/** RFC 3339 UTC at second precision. */
function iso(ms: number | null): string {
  if (ms === null) return 'an unknown time';
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
