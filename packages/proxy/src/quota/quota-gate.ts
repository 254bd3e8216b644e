// The quota gate's decisions: once a window is spent, new requests of that account are answered at
// once instead of being sent, until the reset. Pure functions over one account's gate entries and
// an explicit `nowMs`; the store and the admission wrapper around them do the I/O.
//
// A window closes when Z.AI says it is spent (a quota-class answer) or, with enforcement on, when a
// fresh poll shows it used beyond 1 − reserve. It reopens at its reset; on a fresh poll showing room
// (enforcement on); or, when no reset is known (a daily cap, a body without a stamp), by a half-open
// probe: one real request every probe interval, whose success reopens the gate.
import type { QuotaSnapshot } from './quota-schema.ts';

/** The `window` label of zai_proxy_quota_gate_open: the poll's windows, Z.AI's daily call cap, and a
 *  quota answer that did not say which. */
export type GateWindow = 'five_hour' | 'weekly' | 'daily' | 'unknown';
export const GATE_WINDOWS: readonly GateWindow[] = ['five_hour', 'weekly', 'daily', 'unknown'];

export interface GateEntry {
  readonly window: GateWindow;
  /** What closed it: Z.AI's own answer, or a poll under QUOTA_ENFORCEMENT_ENABLED. */
  readonly source: 'zai' | 'poll';
  readonly closedAtMs: number;
  /** The reset instant; null when unknown (then only a probe reopens it). */
  readonly reopenAtMs: number | null;
  /** With no reset known: the first instant the next probe may go. */
  readonly nextProbeAtMs: number | null;
}

/** One account's closed windows (at most one entry per window). */
export type GateEntries = readonly GateEntry[];

export type GateVerdict =
  | { admit: true; probe: false }
  /** Half-open: this request is the probe; the caller must claim it first (one per interval). */
  | { admit: true; probe: true; window: GateWindow }
  /** probing: no reset is known, Retry-After points at the next probe. */
  | { admit: false; window: GateWindow; retryAfterSec: number; probing: boolean };

const OPEN: GateVerdict = { admit: true, probe: false };

/** The entries still closed at nowMs. */
export function activeEntries(entries: GateEntries, nowMs: number): GateEntries {
  return entries.every((e) => isActive(e, nowMs)) ? entries : entries.filter((e) => isActive(e, nowMs));
}

function isActive(e: GateEntry, nowMs: number): boolean {
  return e.reopenAtMs === null || nowMs < e.reopenAtMs;
}

/** Whether a new request of this account may go now. A known reset always wins over a probe: a spent
 *  weekly window gates even while the five-hour one has room, and no probe goes before its reset. */
export function gateVerdict(entries: GateEntries, nowMs: number): GateVerdict {
  if (entries.length === 0) return OPEN;
  let until = 0;
  let window: GateWindow | null = null;
  let allProbing = true;
  let probeDue = false;
  for (const e of entries) {
    if (!isActive(e, nowMs)) continue;
    const at = e.reopenAtMs ?? e.nextProbeAtMs ?? nowMs;
    if (e.reopenAtMs !== null) allProbing = false;
    else if (at <= nowMs) probeDue = true;
    if (window === null || at > until) {
      until = at;
      window = e.window;
    }
  }
  if (window === null) return OPEN;
  if (allProbing && probeDue) return { admit: true, probe: true, window };
  return {
    admit: false,
    window,
    retryAfterSec: Math.max(1, Math.ceil((until - nowMs) / 1000)),
    probing: allProbing,
  };
}

/** After a quota-class answer from Z.AI: the window closes until resetAtMs, or half-open when the
 *  answer carried no usable reset. */
export function closeOnAnswer(
  entries: GateEntries,
  window: GateWindow,
  resetAtMs: number | null,
  nowMs: number,
  probeIntervalMs: number,
): GateEntries {
  const known = resetAtMs !== null && resetAtMs > nowMs;
  const entry: GateEntry = {
    window,
    source: 'zai',
    closedAtMs: nowMs,
    reopenAtMs: known ? resetAtMs : null,
    nextProbeAtMs: known ? null : nowMs + probeIntervalMs,
  };
  return [...activeEntries(entries, nowMs).filter((e) => e.window !== window), entry];
}

/** The next probe is taken: later requests wait one more interval. */
export function claimProbe(entries: GateEntries, nowMs: number, probeIntervalMs: number): GateEntries {
  return activeEntries(entries, nowMs).map((e) =>
    e.reopenAtMs === null ? { ...e, nextProbeAtMs: nowMs + probeIntervalMs } : e,
  );
}

/** A probe was answered: every window waiting for a probe is open again. */
export function openAfterProbe(entries: GateEntries, nowMs: number): GateEntries {
  return activeEntries(entries, nowMs).filter((e) => e.reopenAtMs !== null);
}

/** With enforcement on, a fresh poll closes the windows used beyond 1 − reserve and reopens those
 *  it shows with room (if they were closed before the sample was taken). A plan tier that changed
 *  since the previous sample may have changed every allowance: known resets become probes. */
export function applyPoll(
  entries: GateEntries,
  sample: QuotaSnapshot,
  previousPlanTier: string | null,
  reserveFraction: number,
  nowMs: number,
  probeIntervalMs: number,
): GateEntries {
  let out = [...activeEntries(entries, nowMs)];
  const threshold = 1 - reserveFraction;
  for (const w of sample.windows) {
    const closed = out.find((e) => e.window === w.window);
    if (w.usedFraction >= threshold) {
      if (closed !== undefined && closed.source === 'zai') continue; // Z.AI's own reset is the better one
      const known = w.resetAtMs !== null && w.resetAtMs > nowMs;
      out = out.filter((e) => e.window !== w.window);
      out.push({
        window: w.window,
        source: 'poll',
        closedAtMs: nowMs,
        reopenAtMs: known ? w.resetAtMs : null,
        nextProbeAtMs: known ? null : nowMs + probeIntervalMs,
      });
    } else if (closed !== undefined && sample.fetchedAtMs > closed.closedAtMs) {
      out = out.filter((e) => e !== closed);
    }
  }
  if (previousPlanTier !== null && sample.planTier !== '' && sample.planTier !== previousPlanTier) {
    out = out.map((e) => (e.reopenAtMs !== null ? { ...e, reopenAtMs: null, nextProbeAtMs: nowMs } : e));
  }
  return out;
}
