// Types of statusline.mjs (plain JavaScript so the command starts without tsx).

export interface StatusSnapshot {
  ok?: boolean;
  /** /health as JSON (null: the proxy answered /metrics only). */
  health: unknown;
  totals: { tokens: number; cost: number } | null;
  fetchedAtMs: number;
}

export interface RenderOptions {
  nowMs: number;
  down: boolean;
  url: string;
  timeZone?: string;
  account?: string | null;
}

export declare function renderStatusLine(snap: StatusSnapshot | null, o: RenderOptions): string;
export declare function totalsFromMetrics(text: string): { tokens: number; cost: number };
export declare function proxyUrl(argv: readonly string[], env: Record<string, string | undefined>): string;
export declare function accountOf(env: Record<string, string | undefined>): string | null;
export declare function main(
  argv?: readonly string[],
  env?: Record<string, string | undefined>,
): Promise<void>;
