// Where the quota gate keeps its entries per account. The request path reads them synchronously from
// this replica's copy; writes go to every replica when the store is shared. The in-process store is
// the default (one replica); a shared store (Redis) implements the same interface.
//
// This is the minimal interface the gate needs; the admission state store (memory + state file,
// Redis) is meant to provide it, so the gate shares one backend with the other account-wide state.
import type { GateEntries } from './quota-gate.ts';

export interface GateStore {
  /** This replica's copy of an account's entries (no I/O; [] when none). */
  get(account: string): GateEntries;
  /** Replaces an account's entries here and, when shared, on every replica. [] deletes them. */
  set(account: string, entries: GateEntries): void;
  /** Takes the account's next half-open probe: true for exactly one caller (across replicas) until
   *  `untilMs`, after which another probe may be taken. */
  claimProbe(account: string, nowMs: number, untilMs: number): Promise<boolean>;
  /** Every account with entries, for /health and the gate_open gauge. */
  entries(): IterableIterator<[string, GateEntries]>;
  close(): Promise<void>;
}

/** Accounts kept at most; beyond it the oldest is dropped (pass-through mode with many keys). */
export const MAX_GATED_ACCOUNTS = 10_000;
const NONE: GateEntries = Object.freeze([]) as GateEntries;

/** The in-process store. */
export function createMemoryGateStore(): GateStore {
  const byAccount = new Map<string, GateEntries>();
  const probes = new Map<string, number>(); // account → probe taken until
  return {
    get: (account) => byAccount.get(account) ?? NONE,
    set(account, entries) {
      byAccount.delete(account);
      if (entries.length === 0) {
        probes.delete(account);
        return;
      }
      byAccount.set(account, entries);
      if (byAccount.size > MAX_GATED_ACCOUNTS) {
        const oldest = byAccount.keys().next().value as string;
        byAccount.delete(oldest);
        probes.delete(oldest);
      }
    },
    claimProbe(account, nowMs, untilMs) {
      const until = probes.get(account);
      if (until !== undefined && nowMs < until) return Promise.resolve(false);
      probes.set(account, untilMs);
      return Promise.resolve(true);
    },
    entries: () => byAccount.entries(),
    close: () => Promise.resolve(),
  };
}
