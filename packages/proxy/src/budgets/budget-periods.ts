// Budget periods: the calendar day, ISO week (Monday first) and month of REPORT_TIMEZONE that an
// instant falls in, as [start, end) instants. Boundaries are local midnights, so a DST change day is
// 23 or 25 hours long. Pure over an explicit `nowMs`; the current period of each kind is cached, so
// the request path calls Intl once per period boundary, not per request.
import type { Period } from './budget-config.ts';

export interface PeriodSpan {
  /** Stable name of the period: `day:2026-12-01`, `week:2026-11-30` (its Monday), `month:2026-12`. */
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export interface Periods {
  readonly timeZone: string;
  /** The period of `kind` that contains nowMs. */
  at(kind: Period, nowMs: number): PeriodSpan;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Periods in one IANA time zone; throws on an unknown zone. */
export function createPeriods(timeZone: string): Periods {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  function wall(ms: number) {
    const p: Record<string, number> = {};
    for (const x of fmt.formatToParts(ms)) if (x.type !== 'literal') p[x.type] = Number(x.value);
    return { y: p.year!, m: p.month!, d: p.day!, h: p.hour!, min: p.minute!, s: p.second! };
  }
  function offset(ms: number): number {
    const w = wall(ms);
    return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - Math.floor(ms / 1000) * 1000;
  }
  // Local midnight of calendar day y-m-d (overflowing days and months roll over, as Date.UTC does).
  function midnight(y: number, m: number, d: number): number {
    const local = Date.UTC(y, m - 1, d);
    // Two refinements settle the offset, also when a DST change is near midnight.
    const t = local - offset(local);
    return local - offset(t);
  }
  function span(kind: Period, nowMs: number): PeriodSpan {
    const { y, m, d } = wall(nowMs);
    if (kind === 'month')
      return { id: `month:${y}-${pad(m)}`, start: midnight(y, m, 1), end: midnight(y, m + 1, 1) };
    const first = kind === 'day' ? d : d - ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7);
    const date = new Date(Date.UTC(y, m - 1, first));
    const id = `${kind}:${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
    const len = kind === 'day' ? 1 : 7;
    return { id, start: midnight(y, m, first), end: midnight(y, m, first + len) };
  }
  const cache = new Map<Period, PeriodSpan>();
  return {
    timeZone,
    at(kind, nowMs) {
      const c = cache.get(kind);
      if (c !== undefined && nowMs >= c.start && nowMs < c.end) return c;
      const s = span(kind, nowMs);
      cache.set(kind, s);
      return s;
    },
  };
}
