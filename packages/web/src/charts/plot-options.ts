// Builds uPlot options outside render. Their identity changes only when the panel's series set, the theme
// or the height changes, so a data update never rebuilds the chart.
import type uPlot from 'uplot';
import { formatClock, formatDateTime } from '../lib/format.ts';
import type { PlotSeries } from './aligned.ts';
import { CHART_THEME, dashFor, type ResolvedTheme } from './theme-colors.ts';

export interface PlotSpec {
  title: string;
  series: readonly PlotSeries[];
  theme: ResolvedTheme;
  height: number;
  width: number;
  format: (v: number | null | undefined) => string;
  /** Pin the y axis to start at zero (rates, counts) so small changes do not look dramatic. */
  zeroBased?: boolean;
  /** A fixed upper bound for ratios (1 for 100 %). */
  yMax?: number;
  /** Read on every redraw: the x window [from, to] in seconds, or the data's extent when unset. */
  xWindow?: { current: [number, number] | undefined };
}

/** x tick labels: HH:MM, with the date when the ticks span more than a day. */
export function timeTicks(vals: number[]): string[] {
  const span = vals.length > 1 ? vals[vals.length - 1]! - vals[0]! : 0;
  const labels = vals.map((v) =>
    span > 86_400 ? formatDateTime(v * 1000) : formatClock(v * 1000).slice(0, 5),
  );
  // ticks closer than the label's minute (a wide chart over 5 minutes): only the first of each minute
  // is labelled, instead of 15:03 15:03 15:04 15:04
  return labels.map((l, i) => (i > 0 && l === labels[i - 1] ? '' : l));
}

export function specKey(s: PlotSpec): string {
  return [
    s.theme,
    s.height,
    s.yMax ?? '',
    ...s.series.map((p) => `${p.def.key}|${p.variant}|${p.variantIndex}`),
  ].join(',');
}

export function buildOptions(s: PlotSpec): uPlot.Options {
  const c = CHART_THEME[s.theme];
  const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
    stroke: c.axis,
    grid: { stroke: c.grid, width: 1 },
    ticks: { stroke: c.grid, width: 1 },
    font: '11px system-ui, sans-serif',
    ...extra,
  });
  const multi = new Set(s.series.map((p) => p.variant)).size > 1;
  return {
    title: undefined,
    width: s.width,
    height: s.height,
    cursor: { drag: { x: false, y: false } },
    // the panel draws its own compact legend; uPlot's repeats every series × variant pair
    legend: { show: false },
    scales: {
      x: {
        time: true,
        range: (_u, min, max) => s.xWindow?.current ?? [min, max],
      },
      y: {
        range: (_u, min, max) => {
          const lo = s.zeroBased !== false ? Math.min(0, min) : min;
          const hi = s.yMax !== undefined ? Math.max(s.yMax, max) : max;
          if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, s.yMax ?? 1];
          return hi > lo ? [lo, hi + (hi - lo) * 0.08] : [lo, lo + 1];
        },
      },
    },
    axes: [
      axis({ values: (_u, vals) => timeTicks(vals), space: 36 }),
      axis({
        values: (_u, vals) => vals.map((v) => s.format(v)),
        // wide enough for the longest tick label, so "1.5k tok/s" is never clipped
        size: (_u, vals) => 22 + 7 * Math.max(3, ...(vals ?? []).map((v) => String(v).length)),
      }),
    ],
    series: [
      { label: 'time' },
      ...s.series.map((p) => ({
        label: multi ? `${p.def.label} · ${p.variant}` : p.def.label,
        stroke: p.def.color,
        width: 1.75,
        dash: dashFor(p.variantIndex),
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => s.format(v),
      })),
    ],
  };
}
