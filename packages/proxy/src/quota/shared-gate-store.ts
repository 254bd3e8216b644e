// The gate store shared by every replica of one Z.AI account, on the admission state store
// (Redis when REDIS_URL is set). The request path still reads only this replica's copy; the copy is
// refreshed from the shared documents in the background, and every change is written through. So a
// gate closed on one replica closes on the others within one refresh interval, and no request pays
// a round trip to Redis.
import type { GateStore } from './gate-store.ts';
import { createMemoryGateStore } from './gate-store.ts';
import type { GateEntries, GateEntry } from './quota-gate.ts';

/** What the gate needs of the admission state store (expiring JSON documents by key). */
export interface DocumentStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface SharedGateStoreOptions {
  docs: DocumentStore;
  now(): number;
  /** How often the accounts this replica knows are re-read. */
  refreshMs: number;
  /** A half-open entry's document outlives its next probe by this much. */
  probeIntervalMs: number;
  onError(err: unknown): void;
}

const KEY = (account: string) => `quota-gate:${account}`;
const PROBE_KEY = (account: string) => `quota-probe:${account}`;
const WINDOWS = new Set(['five_hour', 'weekly', 'daily', 'unknown']);

export function createSharedGateStore(o: SharedGateStoreOptions): GateStore & { refresh(): Promise<void> } {
  const local = createMemoryGateStore();
  // Accounts this replica has seen (requests or documents): the ones it keeps refreshing.
  const known = new Set<string>();
  let closed = false;

  async function refreshOne(account: string): Promise<void> {
    const doc = await o.docs.get(KEY(account));
    const entries = parseEntries(doc);
    local.set(account, entries);
  }

  async function refresh(): Promise<void> {
    await Promise.all([...known].map((a) => refreshOne(a).catch(o.onError)));
  }

  const timer = setInterval(() => void refresh(), o.refreshMs);
  timer.unref();

  return {
    get(account) {
      if (!known.has(account)) {
        // First sight of this account on this replica: another replica may have gated it already.
        known.add(account);
        void refreshOne(account).catch(o.onError);
      }
      return local.get(account);
    },
    set(account, entries) {
      known.add(account);
      local.set(account, entries);
      if (closed) return;
      const ttl = ttlOf(entries, o.now(), o.probeIntervalMs);
      const write = ttl === 0 ? o.docs.delete(KEY(account)) : o.docs.set(KEY(account), entries, ttl);
      write.catch(o.onError);
    },
    async claimProbe(account, nowMs, untilMs) {
      // Read-then-write: two replicas racing may both probe once; never more than one each.
      try {
        const taken = await o.docs.get(PROBE_KEY(account));
        if (typeof taken === 'number' && nowMs < taken) return false;
        await o.docs.set(PROBE_KEY(account), untilMs, Math.max(1, untilMs - nowMs));
      } catch (err) {
        o.onError(err);
      }
      return local.claimProbe(account, nowMs, untilMs);
    },
    entries: () => local.entries(),
    refresh,
    // The documents' store is admission's: it closes it, after everything that writes to it.
    async close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

// Until the latest reset, or a while past the next probe; 0 = nothing to keep.
function ttlOf(entries: GateEntries, nowMs: number, probeIntervalMs: number): number {
  let until = 0;
  for (const e of entries)
    until = Math.max(until, e.reopenAtMs ?? (e.nextProbeAtMs ?? nowMs) + 2 * probeIntervalMs);
  return Math.max(0, until - nowMs);
}

// A document from another replica (or an older version): only well-formed entries are kept.
function parseEntries(doc: unknown): GateEntries {
  if (!Array.isArray(doc)) return [];
  const out: GateEntry[] = [];
  for (const d of doc) {
    if (d === null || typeof d !== 'object') continue;
    const e = d as Record<string, unknown>;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    if (typeof e.window !== 'string' || !WINDOWS.has(e.window)) continue;
    if (e.source !== 'zai' && e.source !== 'poll') continue;
    const closedAtMs = n(e.closedAtMs);
    if (closedAtMs === null) continue;
    out.push({
      window: e.window as GateEntry['window'],
      source: e.source,
      closedAtMs,
      reopenAtMs: n(e.reopenAtMs),
      nextProbeAtMs: n(e.nextProbeAtMs),
    });
  }
  return out;
}
