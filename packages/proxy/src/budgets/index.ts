// Per-client budgets: what each client may spend per day, week or month (tokens, USD, plan units)
// and of Z.AI's five-hour window, with warnings before the limit and a 429 once it is spent. A thin
// admission in front of the quota gate and the pacing admission (wrap), fed by the usage tap when an
// exchange ends (record). Spent amounts and warning flags live in the admission state store (state
// file locally, Redis with REDIS_URL), so a restart keeps them and replicas enforce one budget.
//
// The request path reads only this replica's copy of a client's period documents: loaded once per
// client and period (the first request of a client, or the first after a period boundary, waits for
// that read), then updated by every add and, with a shared store, refreshed in the background.
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
import {
  type BudgetConfig,
  budgetOf,
  type ClientBudget,
  type Limit,
  type Period,
  parseBudgets,
} from './budget-config.ts';
import { createPeriods } from './budget-periods.ts';
import {
  budgetVerdict,
  clearFlag,
  EXCEEDED,
  fiveHourShare,
  type LimitReading,
  transitions,
  usedRatio,
  warnFlag,
} from './budget-verdict.ts';

export { type BudgetConfig, budgetOf, parseBudgets } from './budget-config.ts';

/** What one finished exchange consumed, as the usage tap recorded it. */
export interface Spend {
  /** Every direction: input, output, cache reads and cache writes. */
  tokens: number;
  usd: number;
  plan_units: number;
}

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

type Kind = Period | 'five_hour';
interface Span {
  id: string;
  start: number;
  end: number;
}
interface PeriodDoc extends Span {
  key: string;
  values: Record<string, number>;
}
interface ClientState {
  readonly name: string;
  readonly label: string;
  readonly budget: ClientBudget;
  readonly kinds: readonly Kind[];
  readonly docs: Map<Kind, PeriodDoc>;
  loading: Promise<void> | null;
  seenAt: number;
}

const FIVE_HOURS_MS = 5 * 3_600_000;
const GRACE_MS = 2 * 86_400_000; // 2 days: a finished period's flags stay readable to resolve them
const ACTIVE_MS = 600_000; // 10 min: clients refreshed from a shared store after their last request
const MAX_CLIENTS = 10_000; // clients without an entry of their own kept at most (the default budget)
const TOTAL = '*'; // the five-hour window's document of every client together

export function createBudgets(cfg: BudgetConfig, timeZone: string, d: BudgetsDeps): Budgets {
  const { store, log, metrics: m } = d;
  const v = m.variant;
  const periods = createPeriods(timeZone);
  const clients = new Map<string, ClientState>();
  const everyone = [...cfg.clients.values(), ...(cfg.default === null ? [] : [cfg.default])];
  const needsTotal = everyone.some((b) => b.limits.some((l) => l.period === 'five_hour'));
  const anyCap = everyone.some((b) => b.maxInFlight !== null);
  const anyLimit = everyone.some((b) => b.limits.length > 0);
  let total: PeriodDoc | null = null;
  let pending = new Set<Promise<unknown>>();
  const inFlightFlags = new Set<string>();
  let warnedAt = Number.NEGATIVE_INFINITY;

  function onError(err: unknown): void {
    if (Date.now() - warnedAt < 60_000) return; // once a minute: a store outage must not flood the log
    warnedAt = Date.now();
    log.warn(
      { err: (err as Error).message },
      'Budgets: state store unavailable; spent amounts are not updated until it is back',
    );
  }
  function track<T>(p: Promise<T>): Promise<T> {
    pending.add(p);
    const done = () => pending.delete(p);
    p.then(done, done);
    return p;
  }

  function spanOf(kind: Kind, now: number): Span | null {
    if (kind !== 'five_hour') return periods.at(kind, now);
    const w = d.fiveHour();
    if (w === null) return null;
    return { id: `five_hour:${w.resetAtMs}`, start: w.resetAtMs - FIVE_HOURS_MS, end: w.resetAtMs };
  }
  const keyOf = (name: string, id: string) => `budget:${name}:${id}`;

  function stateOf(name: string, label: string): ClientState | null {
    let st = clients.get(name);
    if (st !== undefined) return st;
    const budget = budgetOf(cfg, name);
    if (budget === null || budget.limits.length === 0) return null;
    if (clients.size >= MAX_CLIENTS) {
      for (const k of clients.keys())
        if (!cfg.clients.has(k)) {
          clients.delete(k);
          break;
        }
    }
    const kinds = [...new Set(budget.limits.map((l) => l.period))];
    st = { name, label, budget, kinds, docs: new Map(), loading: null, seenAt: 0 };
    clients.set(name, st);
    return st;
  }
  const stateOfClient = (c: ClientIdentity) => stateOf(c.name, clientBucket(c));

  // Every period document is the current one (a request may be judged on the copy here).
  function fresh(st: ClientState, now: number): boolean {
    for (const k of st.kinds) {
      const doc = st.docs.get(k);
      if (k === 'five_hour') {
        const s = spanOf(k, now);
        if (s !== null && doc?.id !== s.id) return false;
      } else if (doc === undefined || now >= doc.end || now < doc.start) return false;
    }
    return true;
  }

  function readings(st: ClientState, doc: (k: Kind) => PeriodDoc | undefined, over = false): LimitReading[] {
    const out: LimitReading[] = [];
    for (const limit of st.budget.limits) {
      const p = doc(limit.period);
      if (p === undefined) continue;
      out.push({ limit, periodId: p.id, resetAtMs: p.end, used: used(limit, p), flags: p.values, over });
    }
    return out;
  }
  function used(limit: Limit, p: PeriodDoc): number {
    const own = p.values[limit.measure] ?? 0;
    if (limit.period !== 'five_hour') return own;
    const w = d.fiveHour();
    if (w === null || total === null || total.id !== p.id) return 0;
    return fiveHourShare(own, total.values.plan_units ?? 0, w.usedFraction, w.externalShare);
  }

  // Fires and resolves warnings. A flag is set by an atomic add: only the replica whose add made it
  // 1 logs and counts it, so a warning is written once however many replicas see the crossing.
  function evaluate(st: ClientState, rs: LimitReading[]): void {
    for (const r of rs) {
      const t = transitions(r, st.budget.warnAt);
      for (const x of t.fire) setFlag(st, r, warnFlag(r, x), () => fired(st, r, x));
      for (const x of t.resolve) setFlag(st, r, clearFlag(r, x), () => resolved(st, r, x));
    }
  }
  function setFlag(st: ClientState, r: LimitReading, flag: string, first: () => void): void {
    const key = keyOf(st.name, r.periodId);
    const id = `${key}|${flag}`;
    if (inFlightFlags.has(id)) return;
    inFlightFlags.add(id);
    const ttl = Math.max(1, (r.resetAtMs ?? d.now()) + GRACE_MS - d.now());
    track(store.add(key, { [flag]: 1 }, ttl))
      .then((values) => {
        for (const p of st.docs.values()) if (p.key === key) p.values = values;
        if (values[flag] === 1) first();
      }, onError)
      .finally(() => inFlightFlags.delete(id));
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

  // A new period doc replaces the old one: the old period's fired warnings resolve.
  function setDoc(st: ClientState, kind: Kind, doc: PeriodDoc): void {
    const old = st.docs.get(kind);
    st.docs.set(kind, doc);
    if (old !== undefined && old.id !== doc.id)
      evaluate(
        st,
        readings(st, (k) => (k === kind ? old : undefined), true),
      );
  }

  // Reads the current period documents of a client (and, on first sight, the previous ones, whose
  // warnings may still wait to be resolved after a restart).
  function load(st: ClientState): Promise<void> {
    if (st.loading !== null) return st.loading;
    const now = d.now();
    const first = st.docs.size === 0;
    const jobs = st.kinds.map(async (kind) => {
      const s = spanOf(kind, now);
      if (s === null) return;
      const key = keyOf(st.name, s.id);
      const values = await store.counters(key);
      if (first && kind !== 'five_hour') {
        const prev = spanOf(kind, s.start - 1)!;
        const pk = keyOf(st.name, prev.id);
        const pv = await store.counters(pk);
        if (Object.keys(pv).length > 0) st.docs.set(kind, { ...prev, key: pk, values: pv });
      }
      setDoc(st, kind, { ...s, key, values });
    });
    const totalJob = needsTotal ? loadTotal(now) : Promise.resolve();
    st.loading = track(
      Promise.all([...jobs, totalJob]).then(
        () => {
          st.loading = null;
          evaluate(
            st,
            readings(st, (k) => st.docs.get(k)),
          );
        },
        (err) => {
          st.loading = null;
          onError(err);
        },
      ),
    );
    return st.loading;
  }
  async function loadTotal(now: number): Promise<void> {
    const s = spanOf('five_hour', now);
    if (s === null || total?.id === s.id) return;
    const key = keyOf(TOTAL, s.id);
    total = { ...s, key, values: await store.counters(key) };
  }

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
    const verdict = budgetVerdict(
      readings(st, (k) => st.docs.get(k)),
      now,
    );
    if (!verdict.admit) return refuse(st, verdict.limit, verdict.resetAtMs, verdict.retryAfterSec);
    return inner.acquire(req, signal);
  }

  function record(client: ClientIdentity, s: Spend): void {
    const now = d.now();
    const deltas = { tokens: s.tokens, usd: s.usd, plan_units: s.plan_units };
    if (needsTotal) {
      const span = spanOf('five_hour', now);
      if (span !== null) {
        const key = keyOf(TOTAL, span.id);
        track(store.add(key, { plan_units: s.plan_units }, span.end - now + FIVE_HOURS_MS)).then((values) => {
          if (total === null || total.id === span.id || total.end <= span.end)
            total = { ...span, key, values };
        }, onError);
      }
    }
    const st = stateOfClient(client);
    if (st === null) return;
    for (const kind of st.kinds) {
      const span = spanOf(kind, now);
      if (span === null) continue;
      const key = keyOf(st.name, span.id);
      track(store.add(key, deltas, span.end - now + GRACE_MS)).then((values) => {
        const cur = st.docs.get(kind);
        if (cur !== undefined && cur.end > span.end) return; // a later period is current already
        setDoc(st, kind, { ...span, key, values });
        evaluate(
          st,
          readings(st, (k) => st.docs.get(k)),
        );
      }, onError);
    }
  }

  async function settle(): Promise<void> {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  }

  // With a shared store, other replicas' spending reaches this copy within refreshMs.
  const timer =
    store.source === 'redis'
      ? setInterval(() => {
          const now = d.now();
          for (const st of clients.values()) {
            if (now - st.seenAt > ACTIVE_MS || st.loading !== null) continue;
            for (const [kind, doc] of st.docs)
              track(store.counters(doc.key)).then((values) => {
                if (st.docs.get(kind) !== doc) return;
                doc.values = values;
                evaluate(
                  st,
                  readings(st, (k) => st.docs.get(k)),
                );
              }, onError);
          }
          if (total !== null)
            track(store.counters(total.key)).then((values) => {
              if (total !== null) total.values = values;
            }, onError);
        }, d.refreshMs ?? 1000)
      : null;
  timer?.unref();

  function clientView(st: ClientState): Record<string, unknown> {
    const now = d.now();
    const limits = readings(st, (k) => st.docs.get(k)).map((r) => {
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
    const verdict = budgetVerdict(
      readings(st, (k) => st.docs.get(k)),
      now,
    );
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
      for (const r of readings(st, (k) => st.docs.get(k))) {
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
          const st = stateOfClient(req.client);
          if (st === null) return inner.acquire(req, signal);
          st.seenAt = d.now();
          if (!fresh(st, st.seenAt)) return load(st).then(() => judge(st, inner, req, signal));
          return judge(st, inner, req, signal);
        },
        health: () => inner.health(),
        ...(inner.requeuesConcurrency !== undefined
          ? { requeuesConcurrency: inner.requeuesConcurrency }
          : {}),
        close: () => inner.close?.() ?? Promise.resolve(),
      };
    },
    record: anyLimit ? record : null,
    inflightCap: anyCap ? (c) => budgetOf(cfg, c.name)?.maxInFlight ?? null : undefined,
    health() {
      const list = [...clients.values()].slice(0, 50).map(clientView);
      return {
        enabled: true,
        time_zone: timeZone,
        source: store.source,
        clients_tracked: clients.size,
        refused: [...clients.values()].filter(
          (st) =>
            !budgetVerdict(
              readings(st, (k) => st.docs.get(k)),
              d.now(),
            ).admit,
        ).length,
        clients: list,
      };
    },
    async report() {
      await settle();
      const now = d.now();
      for (const name of cfg.clients.keys()) {
        const st = stateOf(name, clientBucket({ kind: 'key', name }));
        if (st !== null && !fresh(st, now)) await load(st);
      }
      await Promise.all([...clients.values()].filter((st) => !fresh(st, now)).map(load));
      return {
        enabled: true,
        time_zone: timeZone,
        source: store.source,
        ...(cfg.default !== null ? { default: budgetDoc(cfg.default) } : {}),
        clients: [...clients.values()].map(clientView),
      };
    },
    settled: settle,
    async close() {
      if (timer !== null) clearInterval(timer);
      const left = pending;
      pending = new Set();
      await Promise.allSettled([...left]);
    },
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
