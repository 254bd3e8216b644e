// The budgets' ledger: per client, the documents of its current periods (spent tokens, USD, plan
// units and warning flags) in the admission state store, this replica's copy of them, and the
// transitions (warnings fired and resolved) they imply. The request path reads only the copy: it is
// loaded once per client and period (the first request of a client, or the first after a period
// boundary, waits for that read), updated by every add and, with a shared store, refreshed in the
// background. A flag is set by an atomic add, so only the replica whose add made it 1 reports it.
import { clientBucket } from '../admission/client-buckets.ts';
import type { StateStore } from '../admission/state-store.ts';
import type { ClientIdentity } from '../http/auth.ts';
import type { QuotaWindowView } from '../quota/index.ts';
import { type BudgetConfig, budgetOf, type ClientBudget, type Limit, type Period } from './budget-config.ts';
import { createPeriods } from './budget-periods.ts';
import { clearFlag, fiveHourShare, type LimitReading, transitions, warnFlag } from './budget-verdict.ts';

/** What one finished exchange consumed, as the usage tap recorded it. */
export interface Spend {
  /** Every direction: input, output, cache reads and cache writes. */
  tokens: number;
  usd: number;
  plan_units: number;
}

export type Kind = Period | 'five_hour';
export interface Span {
  id: string;
  start: number;
  end: number;
}
export interface PeriodDoc extends Span {
  key: string;
  values: Record<string, number>;
}
export interface ClientState {
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

export interface LedgerDeps {
  store: StateStore;
  now(): number;
  /** The quota module's five-hour window (null without a fresh poll that gave a reset). */
  fiveHour(): QuotaWindowView | null;
  /** How often a shared store's documents are re-read for the clients this replica serves. */
  refreshMs?: number;
  /** A store operation failed. */
  onError(err: unknown): void;
  /** A threshold (1: the limit) was crossed, reported once across replicas and restarts. */
  fired(st: ClientState, r: LimitReading, t: number): void;
  /** …and is no longer crossed (its period ended or the limit was raised). */
  resolved(st: ClientState, r: LimitReading, t: number): void;
}

export interface Ledger {
  readonly clients: ReadonlyMap<string, ClientState>;
  /** A client's state; null when it has no spending limits. */
  stateOf(name: string, label: string): ClientState | null;
  stateOfClient(c: ClientIdentity): ClientState | null;
  /** Every period document of the copy is the current one: a request may be judged on it now. */
  fresh(st: ClientState, now: number): boolean;
  /** The client's limits in their current periods, from the copy. */
  readings(st: ClientState): LimitReading[];
  /** Reads the client's current documents from the store. */
  load(st: ClientState): Promise<void>;
  /** Adds what one exchange consumed to the client's current periods. */
  record(client: ClientIdentity, s: Spend): void;
  /** Resolves when every store operation started so far has landed. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export function createLedger(cfg: BudgetConfig, timeZone: string, d: LedgerDeps): Ledger {
  const { store, onError } = d;
  const periods = createPeriods(timeZone);
  const clients = new Map<string, ClientState>();
  const everyone = [...cfg.clients.values(), ...(cfg.default === null ? [] : [cfg.default])];
  const needsTotal = everyone.some((b) => b.limits.some((l) => l.period === 'five_hour'));
  let total: PeriodDoc | null = null;
  let pending = new Set<Promise<unknown>>();
  const inFlightFlags = new Set<string>();

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
      // A finished period only resolves its warnings: what it used no longer matters.
      const u = over ? 0 : used(limit, p);
      if (u === null) continue;
      out.push({ limit, periodId: p.id, resetAtMs: p.end, used: u, flags: p.values, over });
    }
    return out;
  }
  /** What a limit has used in period `p`; null for a five-hour share while the window is unknown (no
   *  fresh poll, or the window `p` measured has reset and no poll has shown the next one yet): a share
   *  of a window the proxy cannot see is not judged, so it neither refuses nor warns until it can. */
  function used(limit: Limit, p: PeriodDoc): number | null {
    const own = p.values[limit.measure] ?? 0;
    if (limit.period !== 'five_hour') return own;
    const w = d.fiveHour();
    if (w === null || `five_hour:${w.resetAtMs}` !== p.id) return null;
    if (total === null || total.id !== p.id) return 0;
    return fiveHourShare(own, total.values.plan_units ?? 0, w.usedFraction, w.externalShare);
  }

  // Fires and resolves warnings. A flag is set by an atomic add: only the replica whose add made it
  // 1 logs and counts it, so a warning is written once however many replicas see the crossing.
  function evaluate(st: ClientState, rs: LimitReading[]): void {
    for (const r of rs) {
      const t = transitions(r, st.budget.warnAt);
      for (const x of t.fire) setFlag(st, r, warnFlag(r, x), () => d.fired(st, r, x));
      for (const x of t.resolve) setFlag(st, r, clearFlag(r, x), () => d.resolved(st, r, x));
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

  const current = (st: ClientState) => readings(st, (k) => st.docs.get(k));

  return {
    clients,
    stateOf,
    stateOfClient,
    fresh,
    readings: current,
    load,
    record,
    settle,
    async close() {
      if (timer !== null) clearInterval(timer);
      const left = pending;
      pending = new Set();
      await Promise.allSettled([...left]);
    },
  };
}
