// Quota awareness: the poller of Z.AI's quota windows, the gate that stops sending while a window is
// spent, and the forecast of when a window runs out. Built once by the composition root; the gate
// reaches the request path through admission (quota-admission.ts), Z.AI's quota answers reach it
// through the upstream signals.
import type { Admission } from '../admission/index.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SignalListener } from '../upstream/signals.ts';
import { createMemoryGateStore, type GateStore } from './gate-store.ts';
import { createGatekeeper, type Gatekeeper, SHARED_ACCOUNT } from './gatekeeper.ts';
import { quotaSignalListener, withQuotaGate } from './quota-admission.ts';
import { addPoint, type Forecast, forecast, type WindowHistory } from './quota-forecast.ts';
import { GATE_WINDOWS, type GateWindow } from './quota-gate.ts';
import { createQuotaPoller, isFresh, type PollState, type QuotaPoller } from './quota-poller.ts';
import { QUOTA_WINDOWS, type QuotaWindow } from './quota-schema.ts';

export type { GateStore } from './gate-store.ts';
export { SHARED_ACCOUNT } from './gatekeeper.ts';
export type { GateWindow } from './quota-gate.ts';
export { isFresh, type PollState } from './quota-poller.ts';
export type { QuotaSnapshot, QuotaWindow } from './quota-schema.ts';

export interface QuotaClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface QuotaDeps {
  log: Logger;
  metrics: Metrics;
  clock: QuotaClock;
  /** What the proxy's own traffic has consumed so far (a cumulative count), for the forecast's
   *  attribution; absent → attribution is "insufficient data". */
  ownUnits?: () => number | Promise<number>;
  /** ownUnits counts plan (quota) units, so a window's absolute allowance relates to it. */
  ownUnitsArePlanUnits?: boolean;
  /** Shared gate state (Redis); in-process when absent. */
  store?: GateStore;
}

/** One window of the last good poll. */
export interface QuotaWindowView {
  /** The window's next reset; its period is the five (or 168) hours before it. */
  resetAtMs: number;
  usedFraction: number;
  /** Share of the window's burn the forecast attributes to traffic that is not the proxy's (0 when
   *  unknown or within tolerance). */
  externalShare: number;
}

/** A quota-class answer from Z.AI, as the upstream signal carries it. */
export interface QuotaAnswer {
  account: string;
  window: GateWindow;
  resetAtMs: number | null;
}

export type QuotaCfg = Pick<
  Config,
  | 'ZAI_API_KEY'
  | 'DEPLOYMENT_VARIANT'
  | 'QUOTA_POLL_ENABLED'
  | 'QUOTA_POLL_INTERVAL'
  | 'QUOTA_POLL_TIMEOUT'
  | 'QUOTA_STALE_AFTER'
  | 'ZAI_QUOTA_BASE_URL'
  | 'QUOTA_GATE_ENABLED'
  | 'QUOTA_ENFORCEMENT_ENABLED'
  | 'QUOTA_RESERVE_FRACTION'
  | 'QUOTA_PROBE_INTERVAL'
>;

export interface Quota {
  /** The gate; null when QUOTA_GATE_ENABLED is false. */
  readonly gate: Gatekeeper | null;
  readonly poller: QuotaPoller | null;
  /** The `quota` section of /health. */
  health(): Record<string, unknown>;
  /** Z.AI said a window is spent. */
  onQuotaAnswer(a: QuotaAnswer): void;
  /** A window as the last good poll saw it: null without a fresh sample (QUOTA_STALE_AFTER), when it
   *  gave no reset, or once that reset has passed. The five-hour share budgets read their period and
   *  the window's use from it. */
  window(w: QuotaWindow): QuotaWindowView | null;
  /** `inner` behind the gate; `inner` itself when the gate is off. */
  wrap(inner: Admission): Admission;
  /** The upstream-signal listener that closes the gate on Z.AI's quota answers. */
  readonly listener: SignalListener;
  start(): void;
  close(): Promise<void>;
}

export function createQuota(cfg: QuotaCfg, d: QuotaDeps): Quota {
  const { log, metrics: m, clock } = d;
  const v = labelValue(cfg.DEPLOYMENT_VARIANT);
  const store = d.store ?? createMemoryGateStore();
  const gate = cfg.QUOTA_GATE_ENABLED
    ? createGatekeeper({
        store,
        now: () => clock.now(),
        probeIntervalMs: cfg.QUOTA_PROBE_INTERVAL,
        enforcement: cfg.QUOTA_ENFORCEMENT_ENABLED,
        reserveFraction: cfg.QUOTA_RESERVE_FRACTION,
      })
    : null;
  const histories = new Map<QuotaWindow, WindowHistory>();
  const forecasts = new Map<QuotaWindow, Forecast>();
  let previousTier: string | null = null;

  const gateOpen = GATE_WINDOWS.map((w) => [w, m.quotaGateOpen.labels(w, v)] as const);
  const sampleAge = m.quotaSampleAge.labels(v);
  for (const [, g] of gateOpen) g.set(1);

  async function onPoll(
    state: PollState,
    result: 'success' | 'error' | 'malformed',
    becameStale: boolean,
  ): Promise<void> {
    m.quotaPolls.labels(result, v).inc();
    if (becameStale) {
      m.quotaPolls.labels('stale', v).inc();
      log.warn('Quota sample is stale: no successful poll within QUOTA_STALE_AFTER');
    }
    if (result !== 'success' || state.sample === null) return;
    const s = state.sample;
    const own = d.ownUnits === undefined ? 0 : await d.ownUnits();
    for (const w of s.windows) {
      const lt = labelValue(w.limitType);
      m.quotaUsage.labels(w.window, lt, v).set(w.usedFraction);
      m.quotaRemaining.labels(w.window, lt, v).set(1 - w.usedFraction);
      if (w.resetAtMs !== null) m.quotaReset.labels(w.window, lt, v).set(Math.floor(w.resetAtMs / 1000));
      const h = addPoint(histories.get(w.window) ?? [], {
        atMs: s.fetchedAtMs,
        used: w.usedFraction,
        resetAtMs: w.resetAtMs,
        ownUnits: own,
        limit: d.ownUnitsArePlanUnits === true ? w.limit : null,
      });
      histories.set(w.window, h);
      const f = forecast(h, s.fetchedAtMs);
      // Without the plan-usage estimate, own traffic reads 0 and would look like external burn.
      const shown: Forecast =
        d.ownUnits === undefined ? { ...f, attribution: { state: 'insufficient_data' } } : f;
      forecasts.set(w.window, shown);
      setForecastGauges(w.window, shown);
    }
    if (s.tools !== null) {
      if (s.tools.usedFraction !== null) m.quotaToolUsage.labels(v).set(s.tools.usedFraction);
      if (s.tools.resetAtMs !== null) m.quotaToolReset.labels(v).set(Math.floor(s.tools.resetAtMs / 1000));
    }
    gate?.onPoll(s, previousTier);
    if (s.planTier !== '') previousTier = s.planTier;
  }

  function setForecastGauges(w: QuotaWindow, f: Forecast): void {
    if (f.burnPerHour !== null) m.quotaBurnRate.labels(w, v).set(f.burnPerHour);
    if (f.exhaustsAtMs !== null) m.quotaExhaustion.labels(w, v).set(Math.floor(f.exhaustsAtMs / 1000));
    else m.quotaExhaustion.remove(w, v);
    if (f.attribution.state === 'ok') m.quotaExternalShare.labels(w, v).set(f.attribution.externalShare);
  }

  // Pass-through mode has no key of the proxy's own to poll with; client keys are never kept for it.
  const pollKey = cfg.ZAI_API_KEY;
  const poller =
    cfg.QUOTA_POLL_ENABLED && pollKey !== undefined
      ? createQuotaPoller({
          baseUrl: cfg.ZAI_QUOTA_BASE_URL,
          apiKey: pollKey,
          intervalMs: cfg.QUOTA_POLL_INTERVAL,
          timeoutMs: cfg.QUOTA_POLL_TIMEOUT,
          staleAfterMs: cfg.QUOTA_STALE_AFTER,
          clock,
          log,
          onPoll,
        })
      : null;

  m.scrapeHooks.quota = () => {
    if (gate !== null) {
      const closedWindows = new Set(gate.closed().flatMap(([, e]) => e.map((x) => x.window)));
      for (const [w, g] of gateOpen) g.set(closedWindows.has(w) ? 0 : 1);
    }
    const st = poller?.state();
    if (st?.lastSuccessMs != null) sampleAge.set(Math.max(0, (clock.now() - st.lastSuccessMs) / 1000));
  };

  function gateHealth(): Record<string, unknown> {
    if (gate === null) return { enabled: false };
    const closed = gate.closed();
    return {
      enabled: true,
      enforcement: cfg.QUOTA_ENFORCEMENT_ENABLED,
      open: closed.length === 0,
      closed_accounts: closed.length,
      // A few accounts are enough to see what is happening; the metric counts them all.
      closed: closed.slice(0, 20).flatMap(([account, entries]) =>
        entries.map((e) => ({
          ...(account === SHARED_ACCOUNT ? {} : { account }),
          window: e.window,
          source: e.source,
          ...(e.reopenAtMs !== null ? { reset_at: iso(e.reopenAtMs) } : {}),
          ...(e.nextProbeAtMs !== null ? { next_probe_at: iso(e.nextProbeAtMs) } : {}),
        })),
      ),
    };
  }

  function health(): Record<string, unknown> {
    if (poller === null) return { enabled: false, fresh: false, gate: gateHealth() };
    const st = poller.state();
    const now = clock.now();
    const out: Record<string, unknown> = {
      enabled: true,
      fresh: isFresh(st, now, cfg.QUOTA_STALE_AFTER),
      interval: goDuration(cfg.QUOTA_POLL_INTERVAL),
      stale_after: goDuration(cfg.QUOTA_STALE_AFTER),
    };
    if (st.lastSuccessMs !== null) {
      out.last_success_at = iso(st.lastSuccessMs);
      const age = (now - st.lastSuccessMs) / 1000;
      if (age > 0) out.sample_age_seconds = age;
    }
    if (st.lastOutcome !== null) out.last_outcome = st.lastOutcome;
    if (st.sample !== null) {
      if (st.sample.planTier !== '') out.plan_tier = st.sample.planTier;
      out.windows = st.sample.windows.map((w) => ({
        window: w.window,
        limit_type: w.limitType,
        used_fraction: w.usedFraction,
        ...(w.resetAtMs !== null ? { reset_at: iso(w.resetAtMs) } : {}),
        forecast: forecastHealth(forecasts.get(w.window)),
      }));
      const t = st.sample.tools;
      if (t !== null) {
        out.tool_calls = {
          used_fraction: t.usedFraction,
          used: t.used,
          limit: t.limit,
          remaining: t.remaining,
          ...(t.resetAtMs !== null ? { reset_at: iso(t.resetAtMs) } : {}),
        };
      }
    }
    out.gate = gateHealth();
    return out;
  }

  if (!cfg.QUOTA_POLL_ENABLED) log.info('Quota polling disabled (QUOTA_POLL_ENABLED is not true)');
  else if (poller === null)
    log.warn('Quota polling disabled: pass-through mode has no Z.AI key of its own to poll with');
  else {
    log.info(
      `Quota polling enabled (${cfg.QUOTA_ENFORCEMENT_ENABLED ? `enforcing, reserve=${cfg.QUOTA_RESERVE_FRACTION}` : 'observe-only'}): interval=${goDuration(cfg.QUOTA_POLL_INTERVAL)}, timeout=${goDuration(cfg.QUOTA_POLL_TIMEOUT)}, stale_after=${goDuration(cfg.QUOTA_STALE_AFTER)}, base_url=${cfg.ZAI_QUOTA_BASE_URL}`,
    );
  }

  const rejections = new Map(GATE_WINDOWS.map((w) => [w, m.quotaGateRejections.labels(w, v)]));
  function onQuotaAnswer(a: QuotaAnswer): void {
    if (gate === null) return;
    gate.closeOnAnswer(a.account, a.window, a.resetAtMs);
    log.warn(
      { window: a.window, resetAtMs: a.resetAtMs },
      a.resetAtMs === null
        ? `Quota gate closed for ${WINDOW_NAME[a.window]}: no reset known, probing every ${goDuration(cfg.QUOTA_PROBE_INTERVAL)}`
        : `Quota gate closed for ${WINDOW_NAME[a.window]} until ${iso(a.resetAtMs)}`,
    );
  }

  function window(w: QuotaWindow): QuotaWindowView | null {
    const st = poller?.state();
    const now = clock.now();
    if (st === undefined || !isFresh(st, now, cfg.QUOTA_STALE_AFTER)) return null;
    const s = st.sample?.windows.find((x) => x.window === w);
    // Past its reset the sample describes a window that is over; the next one is not known yet.
    if (s === undefined || s.resetAtMs === null || s.resetAtMs <= now) return null;
    const a = forecasts.get(w)?.attribution;
    return {
      resetAtMs: s.resetAtMs,
      usedFraction: s.usedFraction,
      externalShare: a?.state === 'ok' ? a.externalShare : 0,
    };
  }

  return {
    gate,
    poller,
    health,
    window,
    onQuotaAnswer,
    wrap: (inner) =>
      gate === null
        ? inner
        : withQuotaGate(inner, { gate, now: () => clock.now(), onReject: (w) => rejections.get(w)!.inc() }),
    listener: quotaSignalListener((account, window, resetAtMs) =>
      onQuotaAnswer({ account, window, resetAtMs }),
    ),
    start: () => poller?.start(),
    async close() {
      await poller?.stop();
      await store.close();
    },
  };
}

const WINDOW_NAME: Readonly<Record<GateWindow, string>> = {
  five_hour: 'the five-hour window',
  weekly: 'the weekly window',
  daily: 'the daily call count',
  unknown: 'a quota window Z.AI did not name',
};

function forecastHealth(f: Forecast | undefined): Record<string, unknown> {
  if (f === undefined) return { projection: 'insufficient_data' };
  const a = f.attribution;
  return {
    burn_per_hour: f.burnPerHour,
    projection: f.projection,
    ...(f.exhaustsAtMs !== null ? { exhausts_at: iso(f.exhaustsAtMs) } : {}),
    attribution:
      a.state === 'ok'
        ? { state: 'ok', external_share: a.externalShare, external_per_hour: a.externalPerHour }
        : { state: 'insufficient_data' },
  };
}

/** The proxy's own consumption from its token counters: input + output + cache writes + a fifth
 *  of cache reads (a cache hit is billed at a fifth of an input token). */
export async function ownTokenUnits(m: Metrics): Promise<number> {
  let units = 0;
  for (const v of (await m.tokensTotal.get()).values) {
    units += v.labels.direction === 'cache_read' ? v.value / 5 : v.value;
  }
  return units;
}

/** RFC 3339 UTC at second precision, as the original wrote it. */
function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A label value from a closed-ish string: trimmed, lower-cased, [a-z0-9_-] only, ≤ 32, else unknown. */
export function labelValue(s: string): string {
  const out = s
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 32);
  return out === '' ? 'unknown' : out;
}

/** Milliseconds as Go prints a time.Duration (`1m0s`, `15m0s`, `5s`, `1.5s`, `1h0m0s`). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const mi = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${mi}m${sec}`;
  if (mi > 0) return `${mi}m${sec}`;
  return sec;
}

export { QUOTA_WINDOWS };
