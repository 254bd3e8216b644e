// Where snapshots come from: the proxies' /metrics (scrape-source.ts) or a Prometheus server's HTTP
// API (prometheus-source.ts). Both produce the same Tick.
import type { Point, UsageRow } from '../points/point.ts';

/** Health of one scrape target (or of the Prometheus server), as /api/status shows it. */
export interface TargetHealth {
  name: string;
  url: string;
  /** `variant` label values the last good scrape carried. */
  variants: string[];
  up: boolean;
  last_scrape: number | null;
  last_success: number | null;
  duration_ms: number | null;
  last_error: string | null;
  consecutive_failures: number;
}

/** One collection: a point per variant that answered, and its usage rows. */
export interface Tick {
  ts: number;
  points: Point[];
  usage: UsageRow[];
}

export interface Source {
  kind: 'scrape' | 'prometheus';
  /** Collects once; `nowMs` stamps the tick (taken at its start). Never rejects: failures are in targets(). */
  collect(nowMs: number, clock?: () => number): Promise<Tick>;
  targets(): TargetHealth[];
}
