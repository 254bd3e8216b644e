// /api/usage: tokens and micro-dollars over a range, by variant, model, client and reporting-zone
// day. Integer sums only, so the days add up to the totals exactly.
import type { UsageRow } from '../points/point.ts';
import { type Day, dayIndex, daysInRange } from './report-days.ts';

export interface UsageTotals {
  tokens_input: number;
  tokens_output: number;
  tokens_cache_read: number;
  tokens_cache_write: number;
  tokens_total: number;
  cost_micro_usd_input: number;
  cost_micro_usd_output: number;
  cost_micro_usd_cache_read: number;
  cost_micro_usd_cache_write: number;
  cost_micro_usd_total: number;
  cost_usd_total: number;
  /** cache_read / (input + cache_read): input is uncached input. */
  cache_hit_ratio: number | null;
}

class Acc {
  t = [0, 0, 0, 0];
  m = [0, 0, 0, 0];
  add(r: UsageRow) {
    for (let i = 0; i < 4; i++) {
      this.t[i]! += r.tokens[i]!;
      this.m[i]! += r.micro[i]!;
    }
  }
  json(): UsageTotals {
    const [ti, to, tcr, tcw] = this.t as [number, number, number, number];
    const [mi, mo, mcr, mcw] = this.m as [number, number, number, number];
    const micro = mi + mo + mcr + mcw;
    return {
      tokens_input: ti,
      tokens_output: to,
      tokens_cache_read: tcr,
      tokens_cache_write: tcw,
      tokens_total: ti + to + tcr + tcw,
      cost_micro_usd_input: mi,
      cost_micro_usd_output: mo,
      cost_micro_usd_cache_read: mcr,
      cost_micro_usd_cache_write: mcw,
      cost_micro_usd_total: micro,
      cost_usd_total: micro / 1e6,
      cache_hit_ratio: ti + tcr > 0 ? tcr / (ti + tcr) : null,
    };
  }
}

function grouped(rows: readonly UsageRow[], key: (r: UsageRow) => string) {
  const m = new Map<string, Acc>();
  for (const r of rows) {
    const k = key(r);
    let a = m.get(k);
    if (a === undefined) {
      a = new Acc();
      m.set(k, a);
    }
    a.add(r);
  }
  return [...m]
    .map(([k, a]) => ({ key: k, ...a.json() }))
    .sort(
      (x, y) =>
        y.cost_micro_usd_total - x.cost_micro_usd_total ||
        y.tokens_total - x.tokens_total ||
        (x.key < y.key ? -1 : 1),
    );
}

/** The /api/usage body for rows in [start, end). */
export function usageReport(rows: readonly UsageRow[], start: number, end: number, timezone: string) {
  const total = new Acc();
  for (const r of rows) total.add(r);
  const days: Day[] = daysInRange(timezone, start, end);
  const perDay = days.map(() => new Acc());
  for (const r of rows) {
    const i = dayIndex(days, r.ts);
    if (i >= 0) perDay[i]!.add(r);
  }
  return {
    start,
    end,
    timezone,
    totals: total.json(),
    by_variant: grouped(rows, (r) => r.variant),
    by_model: grouped(rows, (r) => r.model),
    by_client: grouped(rows, (r) => r.client),
    days: days.map((d, i) => ({ date: d.date, start: d.start, end: d.end, ...perDay[i]!.json() })),
  };
}
