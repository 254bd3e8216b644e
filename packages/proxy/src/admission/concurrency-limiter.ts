// Adaptive concurrency limit: how many attempts may be in flight to Z.AI at once. Z.AI limits an
// account by requests in flight (business code 1302), shared with every other client of the
// account and moved by Z.AI without notice, so the limit is learned from 1302s (loss-based AIMD,
// the shape that works for a client that does not control the server's load):
//
// - start low (the restored state, else the initial limit) and slow-start (+1 per success) while no
//   ceiling is known;
// - a 1302 on an attempt admitted at level k (own attempts in flight, itself included) says the
//   account holds fewer than k: remember k as the ceiling and cut to min(limit × backoff, k − 1) —
//   once per congestion episode: 1302s of attempts admitted before the cut do not cut again;
// - below the ceiling, grow by +1 per round (1/limit per success) up to the hold (ceiling − 1), and
//   only while the limit is actually used (in flight × 2 ≥ limit), so an idle proxy never inflates;
// - at the hold, probe one slot above it after `probeRounds` clean rounds; a probe that 1302s drops
//   back to the hold (and waits twice as long for the next, up to MAX_PROBE_BACKOFF); a success at or
//   above the ceiling proves Z.AI raised the cap, so the ceiling is forgotten and slow start resumes.
//
// Pure: state in, state out; the admission module owns the counters, the queue and persistence.

/** Bounds and shape of the controller (CONCURRENCY_* variables). */
export interface ConcurrencyConfig {
  /** Limit when nothing is restored. */
  initial: number;
  min: number;
  max: number;
  /** Multiplicative cut on a 1302, in (0, 1). */
  backoff: number;
  /** Clean rounds at the hold before probing one slot above it (a round = `limit` successes). */
  probeRounds: number;
}

/** The learned state; what is persisted and shared between replicas. */
export interface ConcurrencyState {
  /** Fractional limit; floor(limit) attempts may be in flight. */
  limit: number;
  /** Level at which the last 1302 came back (fewer fit), or null while no cap has been met. */
  ceiling: number | null;
  /** Bumped by every cut: attempts admitted in an older episode cannot cut again. */
  episode: number;
  /** Successes at the hold since the last probe or cut. */
  clean: number;
  /** Multiplier of probeRounds: doubles after each failed probe, back to 1 after a change. */
  probeBackoff: number;
}

/** Recorded at admission: which episode the attempt belongs to and its level. */
export interface Ticket {
  readonly episode: number;
  /** Own attempts in flight when this one was admitted, itself included. */
  readonly level: number;
}

/** How an attempt ended, as far as the concurrency limit cares. */
export type ConcurrencyOutcome = 'ok' | 'concurrency' | 'neutral';

/** What a release changed, for metrics and logs. */
export type ConcurrencyChange = 'none' | 'increase' | 'probe' | 'decrease' | 'probe_failed' | 'cap_raised';

const MAX_PROBE_BACKOFF = 2; // 2 × probeRounds: a steady cap is probed less, a raised one found within ~10 rounds

/** The starting state: the restored one (clamped into bounds) or the initial limit. */
export function initialState(
  cfg: ConcurrencyConfig,
  restored?: Partial<ConcurrencyState> | null,
): ConcurrencyState {
  const limit = restored?.limit;
  const ceiling = restored?.ceiling;
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
    return { limit: clamp(cfg.initial, cfg), ceiling: null, episode: 0, clean: 0, probeBackoff: 1 };
  }
  const c = typeof ceiling === 'number' && Number.isFinite(ceiling) && ceiling > cfg.min ? ceiling : null;
  return {
    limit: clamp(c === null ? limit : Math.min(limit, c - 1), cfg),
    ceiling: c === null ? null : Math.min(c, cfg.max + 1),
    episode: typeof restored?.episode === 'number' ? restored.episode : 0,
    clean: 0,
    probeBackoff: 1,
  };
}

/** Attempts allowed in flight. */
export function slots(s: ConcurrencyState): number {
  return Math.floor(s.limit);
}

/** The limit held just under a known ceiling. */
export function hold(s: ConcurrencyState, cfg: ConcurrencyConfig): number {
  return s.ceiling === null ? cfg.max : Math.max(cfg.min, Math.min(cfg.max, s.ceiling - 1));
}

/** The state after one admitted attempt ended. `inflight` counts own attempts in flight just before
 *  this release (this one included). Returns the same object when nothing changed. */
export function release(
  s: ConcurrencyState,
  cfg: ConcurrencyConfig,
  t: Ticket,
  outcome: ConcurrencyOutcome,
  inflight: number,
): { state: ConcurrencyState; change: ConcurrencyChange } {
  if (outcome === 'concurrency') return throttled(s, cfg, t);
  if (outcome !== 'ok') return { state: s, change: 'none' };
  if (s.ceiling !== null && t.level >= s.ceiling && t.episode === s.episode) {
    // More fit than the last 1302 said: Z.AI raised the cap (or other clients left). Find it fast.
    return {
      state: { ...s, ceiling: null, clean: 0, probeBackoff: 1, limit: clamp(s.limit + 1, cfg) },
      change: 'cap_raised',
    };
  }
  if (inflight * 2 < s.limit) return { state: s, change: 'none' }; // not used: no evidence to grow on
  if (s.ceiling === null) {
    const limit = clamp(s.limit + 1, cfg); // slow start: doubles per round until Z.AI says no
    return limit === s.limit
      ? { state: s, change: 'none' }
      : { state: step(s, limit, s.clean), change: 'increase' };
  }
  const h = hold(s, cfg);
  if (s.limit < h) {
    return { state: step(s, Math.min(h, s.limit + 1 / s.limit), s.clean), change: 'increase' };
  }
  const clean = s.clean + 1;
  if (slots(s) >= cfg.max || clean < cfg.probeRounds * s.probeBackoff * slots(s)) {
    return { state: step(s, s.limit, clean), change: 'none' };
  }
  // One slot above the hold: the next attempt admitted at the ceiling level tells whether it fits.
  return { state: step(s, clamp(slots(s) + 1, cfg), 0), change: 'probe' };
}

function throttled(
  s: ConcurrencyState,
  cfg: ConcurrencyConfig,
  t: Ticket,
): { state: ConcurrencyState; change: ConcurrencyChange } {
  // Admitted before the last cut: this 1302 belongs to the episode that cut already.
  if (t.episode !== s.episode) return { state: s, change: 'none' };
  if (s.ceiling !== null && t.level >= s.ceiling) {
    // A probe that did not fit: the cap has not moved. Back to the hold, probe later.
    return {
      state: {
        ...s,
        limit: hold(s, cfg),
        episode: s.episode + 1,
        clean: 0,
        probeBackoff: Math.min(MAX_PROBE_BACKOFF, s.probeBackoff * 2),
      },
      change: 'probe_failed',
    };
  }
  const limit = clamp(Math.min(s.limit * cfg.backoff, t.level - 1), cfg);
  return {
    state: {
      limit,
      ceiling: Math.max(t.level, cfg.min + 1),
      episode: s.episode + 1,
      clean: 0,
      probeBackoff: 1,
    },
    change: 'decrease',
  };
}

// A copy with limit and clean replaced, each field written out: V8 copies `{ ...s, limit }` field by
// field (about 0.5 µs), and a release at the hold makes one per request.
function step(s: ConcurrencyState, limit: number, clean: number): ConcurrencyState {
  return { limit, ceiling: s.ceiling, episode: s.episode, clean, probeBackoff: s.probeBackoff };
}

function clamp(v: number, cfg: ConcurrencyConfig): number {
  return Math.max(cfg.min, Math.min(cfg.max, v));
}
