// The quota gate with state: the pure decisions of quota-gate.ts applied to a store of entries per
// account. In pass-through mode each client key is its own Z.AI account, so a spent window gates
// only the account that spent it; with the proxy's own key every client shares one account.
import type { GateStore } from './gate-store.ts';
import {
  activeEntries,
  applyPoll,
  claimProbe,
  closeOnAnswer,
  GATE_WINDOWS,
  type GateEntries,
  type GateVerdict,
  type GateWindow,
  gateVerdict,
  openAfterProbe,
} from './quota-gate.ts';
import type { QuotaSnapshot } from './quota-schema.ts';

/** The account of every request when the proxy holds the Z.AI key (and the one the poller polls). */
export const SHARED_ACCOUNT = 'shared';

export interface GatekeeperOptions {
  store: GateStore;
  now(): number;
  probeIntervalMs: number;
  /** QUOTA_ENFORCEMENT_ENABLED: polls close and reopen the gate; otherwise they never touch it. */
  enforcement: boolean;
  reserveFraction: number;
}

export interface Gatekeeper {
  /** Whether a new request of this account may go now; no I/O. A probe verdict must be taken. */
  check(account: string): GateVerdict;
  /** Takes the half-open probe; false when another request (or replica) took it first. */
  takeProbe(account: string): Promise<boolean>;
  /** Z.AI answered this account with a quota-class error for `window`. */
  closeOnAnswer(account: string, window: GateWindow, resetAtMs: number | null): void;
  /** The probe of this account got a real answer (not a quota error): its half-open windows open. */
  probeAnswered(account: string): void;
  /** A fresh poll of the shared account (acted on only with enforcement on). */
  onPoll(sample: QuotaSnapshot, previousPlanTier: string | null): void;
  /** Accounts with closed windows now (expired ones dropped). */
  closed(): [string, GateEntries][];
  /** No account has `window` closed now. */
  isOpen(window: GateWindow): boolean;
}

export function createGatekeeper(o: GatekeeperOptions): Gatekeeper {
  const { store } = o;
  const update = (account: string, f: (e: GateEntries, now: number) => GateEntries) => {
    const now = o.now();
    store.set(account, f(store.get(account), now));
  };
  function closed(): [string, GateEntries][] {
    const now = o.now();
    const out: [string, GateEntries][] = [];
    const expired: string[] = [];
    for (const [account, entries] of store.entries()) {
      const active = activeEntries(entries, now);
      if (active.length === 0) expired.push(account);
      else out.push([account, active]);
    }
    for (const a of expired) store.set(a, []);
    return out;
  }
  return {
    check: (account) => gateVerdict(store.get(account), o.now()),
    async takeProbe(account) {
      const now = o.now();
      const taken = await store.claimProbe(account, now, now + o.probeIntervalMs);
      if (taken) update(account, (e, t) => claimProbe(e, t, o.probeIntervalMs));
      return taken;
    },
    closeOnAnswer(account, window, resetAtMs) {
      update(account, (e, now) => closeOnAnswer(e, window, resetAtMs, now, o.probeIntervalMs));
    },
    probeAnswered(account) {
      update(account, (e, now) => openAfterProbe(e, now));
    },
    onPoll(sample, previousPlanTier) {
      if (!o.enforcement) return; // polling never changes admission unless enforcement is on
      update(SHARED_ACCOUNT, (e, now) =>
        applyPoll(e, sample, previousPlanTier, o.reserveFraction, now, o.probeIntervalMs),
      );
    },
    closed,
    isOpen(window) {
      return !closed().some(([, entries]) => entries.some((e) => e.window === window));
    },
  };
}

export { GATE_WINDOWS };
