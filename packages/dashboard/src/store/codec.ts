// A point as stored: compact JSON. Histogram bounds drop the final +Inf (JSON has no Infinity), and
// every number is finite by construction, so a stored row always decodes.
import { emptyDelta, type Hist, type HistName, type Point } from '../points/point.ts';

interface Stored {
  i: number;
  u: number;
  t: number;
  c: Point['cum'];
  g: Point['gauges'];
  d: Point['delta'];
  h: Partial<Record<HistName, [number[], number[], number]>>;
  q?: Point['quota'];
}

export function encodePoint(p: Point): string {
  const h: Stored['h'] = {};
  for (const k in p.hist) {
    const x = p.hist[k as HistName]!;
    const finite = x.le.at(-1) === Number.POSITIVE_INFINITY ? x.le.slice(0, -1) : x.le;
    h[k as HistName] = [finite, x.count, Number.isFinite(x.sum) ? x.sum : 0];
  }
  const s: Stored = {
    i: p.intervalMs,
    u: p.targetsUp,
    t: p.targetsTotal,
    c: p.cum,
    g: p.gauges,
    d: p.delta,
    h,
  };
  if (p.quota !== undefined) s.q = p.quota;
  return JSON.stringify(s);
}

export function decodePoint(ts: number, variant: string, json: string): Point {
  const s = JSON.parse(json) as Stored;
  const hist: Point['hist'] = {};
  for (const k in s.h) {
    const [le, count, sum] = s.h[k as HistName]!;
    const full = count.length === le.length + 1 ? [...le, Number.POSITIVE_INFINITY] : le;
    hist[k as HistName] = { le: full, count, sum } satisfies Hist;
  }
  const p: Point = {
    ts,
    variant,
    intervalMs: s.i,
    targetsUp: s.u,
    targetsTotal: s.t,
    cum: s.c ?? {},
    gauges: s.g ?? {},
    delta: { ...emptyDelta(), ...s.d },
    hist,
  };
  if (s.q !== undefined) p.quota = s.q;
  return p;
}
