// The synthetic Z.AI account of the admission simulation: a hidden in-flight cap that steps, load
// from other clients of the account that the proxy cannot see, long-tailed request durations and
// an optional hidden request-rate cap. Virtual time only; every draw comes from the seeded random.

/** Request durations: lognormal (long right tail), capped. */
export interface DurationClass {
  name: string;
  medianMs: number;
  sigma: number;
  maxMs: number;
}

export const DURATIONS: DurationClass[] = [
  { name: 'seconds', medianMs: 4_000, sigma: 0.8, maxMs: 120_000 },
  { name: 'minutes', medianMs: 40_000, sigma: 1.0, maxMs: 900_000 },
];

/** Mean of the lognormal (before the cap): median × e^(σ²/2). */
export function meanMs(d: DurationClass): number {
  return d.medianMs * Math.exp((d.sigma * d.sigma) / 2);
}

/** One lognormal draw (Box–Muller). */
export function drawDuration(d: DurationClass, random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.min(d.maxMs, d.medianMs * Math.exp(d.sigma * z));
}

export type UpstreamAnswer = 'ok' | 'concurrency' | 'frequency';

export interface AccountModel {
  /** Hidden cap on requests in flight, all clients of the account together. */
  cap: number;
  /** Own successful attempts running. */
  readonly ours: number;
  /** Other clients' requests running. */
  readonly external: number;
  /** Sets the hidden request-rate cap (req/s), or null for none. */
  setRateCap(perSecond: number | null): void;
  /** An attempt arriving now: rejected at once (1302 / 1303), or admitted (caller runs it, then ends it). */
  arrive(): UpstreamAnswer;
  end(): void;
  /** Another client's request arriving now; it occupies a slot for `ms` if one is free. */
  external_arrive(ms: number, at: (ms: number, fn: () => void) => void): void;
}

export function createAccount(cap: number, now: () => number): AccountModel {
  let ours = 0;
  let external = 0;
  let rate: number | null = null;
  let tokens = 0;
  let at = now();
  return {
    cap,
    get ours() {
      return ours;
    },
    get external() {
      return external;
    },
    setRateCap(perSecond) {
      rate = perSecond;
      tokens = perSecond === null ? 0 : Math.max(1, perSecond * 2);
      at = now();
    },
    arrive() {
      if (rate !== null) {
        const t = now();
        tokens = Math.min(Math.max(1, rate * 2), tokens + ((t - at) * rate) / 1000);
        at = t;
        if (tokens < 1) return 'frequency';
        tokens -= 1;
      }
      if (ours + external >= this.cap) return 'concurrency';
      ours++;
      return 'ok';
    },
    end() {
      ours--;
    },
    external_arrive(ms, schedule) {
      if (ours + external >= this.cap) return; // the other client meets the 1302, not us
      external++;
      schedule(ms, () => {
        external--;
      });
    },
  };
}
