// Columnar data for uPlot from per-variant point lists: one shared x array (seconds) and one y array per
// (series, variant) with null where that variant has no point at that time.
import type uPlot from 'uplot';
import type { Num, Snapshot } from '../api/types.ts';

export interface SeriesDef {
  key: string;
  label: string;
  color: string;
  get: (s: Snapshot) => Num | undefined;
  /** false: in the numbers table only, not drawn (a capacity far above the lines would flatten them). */
  chart?: false;
}

export interface PlotSeries {
  def: SeriesDef;
  variant: string;
  variantIndex: number;
}

export function alignSeries(
  byVariant: ReadonlyArray<{ variant: string; points: readonly Snapshot[] }>,
  defs: readonly SeriesDef[],
): { data: uPlot.AlignedData; series: PlotSeries[] } {
  const stamps = new Set<number>();
  for (const v of byVariant) for (const p of v.points) stamps.add(p.timestamp);
  const xsMs = [...stamps].sort((a, b) => a - b);
  const index = new Map<number, number>();
  for (let i = 0; i < xsMs.length; i++) index.set(xsMs[i]!, i);
  const series: PlotSeries[] = [];
  const ys: (number | null)[][] = [];
  byVariant.forEach((v, variantIndex) => {
    for (const def of defs) {
      const y: (number | null)[] = new Array(xsMs.length).fill(null);
      for (const p of v.points) {
        const val = def.get(p);
        if (typeof val === 'number' && Number.isFinite(val)) y[index.get(p.timestamp)!] = val;
      }
      series.push({ def, variant: v.variant, variantIndex });
      ys.push(y);
    }
  });
  return { data: [xsMs.map((t) => t / 1000), ...ys] as uPlot.AlignedData, series };
}

export interface SeriesSummary {
  label: string;
  variant: string;
  latest: number | null;
  min: number | null;
  mean: number | null;
  max: number | null;
  points: number;
}

/** The numbers behind a chart, for its text alternative: latest, min, mean and max per line. */
export function summarize(data: uPlot.AlignedData, series: readonly PlotSeries[]): SeriesSummary[] {
  return series.map((s, i) => {
    const ys = data[i + 1] as (number | null | undefined)[];
    let latest: number | null = null;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    let n = 0;
    for (const y of ys) {
      if (typeof y !== 'number') continue;
      latest = y;
      if (y < min) min = y;
      if (y > max) max = y;
      sum += y;
      n++;
    }
    return {
      label: s.def.label,
      variant: s.variant,
      latest,
      min: n > 0 ? min : null,
      mean: n > 0 ? sum / n : null,
      max: n > 0 ? max : null,
      points: n,
    };
  });
}
