import { useMemo } from 'react';
import type { Snapshot } from '../api/types.ts';
import { alignSeries, summarize } from '../charts/aligned.ts';
import { TimeChart } from '../charts/TimeChart.tsx';
import type { ChartPanelDef } from '../panels/chart-panels.ts';
import { ChartLegend } from './ChartLegend.tsx';
import { NumbersTable } from './NumbersTable.tsx';
import { Panel, type PanelState } from './Panel.tsx';

export interface VariantPoints {
  variant: string;
  points: readonly Snapshot[];
}

export type SeriesStatus =
  | { kind: 'loading' }
  | { kind: 'error'; message: string; retry?: () => void }
  | { kind: 'ready' };

export interface ChartPanelProps {
  def: ChartPanelDef;
  status: SeriesStatus;
  data: readonly VariantPoints[];
  /** Bumped whenever the underlying points change (they are mutated in place for bounded memory). */
  version: number;
  /** The x window in ms, so the chart shows the whole range even where there are no points. */
  window: { from: number; to: number };
}

/** A time-series panel: headline per variant, one uPlot chart with variants overlaid, and its numbers. */
export function ChartPanel({ def, status, data, version, window }: ChartPanelProps) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: points are mutated in place; `version` marks a change
  const built = useMemo(() => {
    const all = data.flatMap((d) => d.points);
    const defs = typeof def.series === 'function' ? def.series(all) : def.series;
    const aligned = alignSeries(data, defs);
    const rows = summarize(aligned.data, aligned.series);
    const windowed = def.windowValue
      ? data.map((d) => ({
          label: def.windowValue!.label,
          variant: d.variant,
          value: def.windowValue!.of(d.points),
        }))
      : null;
    const head = def.headline
      ? summarize(alignSeries(data, [def.headline]).data, alignSeries(data, [def.headline]).series)
      : null;
    const drawn = aligned.series.flatMap((p, i) =>
      p.def.chart === false ? [] : [{ p, y: aligned.data[i + 1]! }],
    );
    return {
      series: drawn.map((d) => d.p),
      data: [aligned.data[0], ...drawn.map((d) => d.y)] as typeof aligned.data,
      defs: defs.filter((d) => d.chart !== false),
      rows,
      head,
      windowed,
      any: rows.some((r) => r.points > 0),
      total: all.length,
    };
  }, [def, data, version]);

  let state: PanelState;
  if (status.kind === 'loading') state = { kind: 'loading' };
  else if (status.kind === 'error') state = status;
  else if (built.total === 0) state = { kind: 'empty', message: 'No data in this range yet.' };
  else if (!built.any) state = { kind: 'empty', message: def.missing };
  else state = { kind: 'ready' };

  const variants = data.map((d) => d.variant);
  const firstLabel = built.rows[0]?.label;
  const headRows = built.head ?? built.rows.filter((r) => r.label === firstLabel);
  const headline = built.windowed ? (
    <dl className="stats">
      {built.windowed.map((w) => (
        <div key={w.variant}>
          <dt>{variants.length > 1 ? `${w.variant} · ${w.label}` : w.label}</dt>
          <dd>{def.format(w.value)}</dd>
        </div>
      ))}
    </dl>
  ) : headRows.length === 0 ? undefined : (
    <dl className="stats">
      {headRows.map((r) => (
        <div key={r.variant}>
          <dt>{variants.length > 1 ? `${r.label} · ${r.variant}` : r.label}</dt>
          <dd>{def.format(r.latest)}</dd>
        </div>
      ))}
    </dl>
  );

  return (
    <Panel id={def.id} title={def.title} state={state} headline={headline} wide={def.wide}>
      <ChartLegend defs={built.defs} variants={variants} />
      <TimeChart
        title={def.title}
        series={built.series}
        data={built.data}
        format={def.format}
        yMax={def.yMax}
        xRange={[window.from / 1000, window.to / 1000]}
      />
      {def.note && <p className="note">{def.note}</p>}
      <NumbersTable caption={def.title} rows={built.rows} format={def.format} variants={variants} />
    </Panel>
  );
}
