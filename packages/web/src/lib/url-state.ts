// The view (range, variants, filters) lives in the query string so a copied link reopens the same view.
// Parsing is total: an unknown or malformed parameter falls back to its default instead of breaking the page.

export const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d'] as const;
export type RangeKey = (typeof RANGES)[number];

export const RANGE_MS: Record<RangeKey, number> = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
};

/** A relative range follows "now" and takes live updates; a custom one is a fixed from–to window. */
export type TimeRange = { kind: 'relative'; key: RangeKey } | { kind: 'custom'; from: number; to: number };

export interface ViewState {
  range: TimeRange;
  /** Variants to show; empty means every variant the dashboard knows. */
  variants: string[];
  client: string | null;
  model: string | null;
}

export const DEFAULT_VIEW: ViewState = {
  range: { kind: 'relative', key: '1h' } as TimeRange,
  variants: [],
  client: null,
  model: null,
};

const NAME = /^[A-Za-z0-9_.:@/-]{1,64}$/;

function parseTime(s: string | null): number | null {
  if (s === null || s === '') return null;
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

export function parseView(search: string): ViewState {
  const q = new URLSearchParams(search);
  const from = parseTime(q.get('from'));
  const to = parseTime(q.get('to'));
  const key = q.get('range');
  let range: TimeRange = DEFAULT_VIEW.range;
  if (from !== null && to !== null && from < to) range = { kind: 'custom', from, to };
  else if (key !== null && (RANGES as readonly string[]).includes(key))
    range = { kind: 'relative', key: key as RangeKey };
  const variants = (q.get('variant') ?? '').split(',').filter((v) => NAME.test(v) && v !== 'all');
  const pick = (k: string) => {
    const v = q.get(k);
    return v !== null && NAME.test(v) ? v : null;
  };
  return { range, variants: [...new Set(variants)], client: pick('client'), model: pick('model') };
}

/** The query string for a view; defaults are left out so the plain URL stays plain. */
export function serializeView(v: ViewState): string {
  const q = new URLSearchParams();
  if (v.range.kind === 'custom') {
    q.set('from', new Date(v.range.from).toISOString());
    q.set('to', new Date(v.range.to).toISOString());
  } else if (v.range.key !== '1h' || v.variants.length > 0 || v.client || v.model) {
    q.set('range', v.range.key);
  }
  if (v.variants.length > 0) q.set('variant', v.variants.join(','));
  if (v.client) q.set('client', v.client);
  if (v.model) q.set('model', v.model);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** The [from, to] window in ms that a range covers at `now`. */
export function rangeWindow(r: TimeRange, now: number): { from: number; to: number } {
  return r.kind === 'custom' ? { from: r.from, to: r.to } : { from: now - RANGE_MS[r.key], to: now };
}

export function rangeSpanMs(r: TimeRange): number {
  return r.kind === 'custom' ? r.to - r.from : RANGE_MS[r.key];
}
