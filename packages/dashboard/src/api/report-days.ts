// Calendar days of an IANA time zone over a range: the boundaries (local midnights) as instants, so
// a DST change day is 23 or 25 hours long and +05:30 or +05:45 zones split where their clocks do.
// Rows are assigned to days by binary search on the boundaries (one Intl call per day, not per row).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Local wall-clock fields of an instant in `tz`. */
function wallClock(tz: string, ms: number) {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    y: parts.year!,
    m: parts.month!,
    d: parts.day!,
    h: parts.hour!,
    min: parts.minute!,
    s: parts.second!,
  };
}

/** The zone's offset from UTC at an instant, in ms (+05:30 → 19 800 000). */
export function zoneOffsetMs(tz: string, ms: number): number {
  const w = wallClock(tz, ms);
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant of local midnight starting calendar day y-m-d in `tz`. */
export function startOfDay(tz: string, y: number, m: number, d: number): number {
  const wall = Date.UTC(y, m - 1, d);
  // Two refinements settle the offset, also across a DST change near midnight.
  let t = wall - zoneOffsetMs(tz, wall);
  t = wall - zoneOffsetMs(tz, t);
  return t;
}

export interface Day {
  date: string;
  start: number;
  end: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The calendar days in `tz` that overlap [start, end), oldest first, clipped to the range. */
export function daysInRange(tz: string, start: number, end: number): Day[] {
  const out: Day[] = [];
  if (!(end > start)) return out;
  const w = wallClock(tz, start);
  let cur = { y: w.y, m: w.m, d: w.d };
  let dayStart = startOfDay(tz, cur.y, cur.m, cur.d);
  for (let guard = 0; guard < 10_000 && dayStart < end; guard++) {
    const next = new Date(Date.UTC(cur.y, cur.m - 1, cur.d + 1));
    const nextCal = { y: next.getUTCFullYear(), m: next.getUTCMonth() + 1, d: next.getUTCDate() };
    const nextStart = startOfDay(tz, nextCal.y, nextCal.m, nextCal.d);
    out.push({
      date: `${cur.y}-${pad(cur.m)}-${pad(cur.d)}`,
      start: Math.max(start, dayStart),
      end: Math.min(end, nextStart),
    });
    cur = nextCal;
    dayStart = nextStart;
  }
  return out;
}

/** Index of the day containing `ts` (days as from daysInRange), or -1 outside them. */
export function dayIndex(days: readonly Day[], ts: number): number {
  let lo = 0;
  let hi = days.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const d = days[mid]!;
    if (ts < d.start) hi = mid - 1;
    else if (ts >= d.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}
