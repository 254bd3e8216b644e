import { useMemo, useRef } from 'react';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../hooks/useTheme.tsx';
import type { PlotSeries } from './aligned.ts';
import { buildOptions, specKey } from './plot-options.ts';
import { usePlot } from './usePlot.ts';

export interface TimeChartProps {
  title: string;
  series: readonly PlotSeries[];
  data: uPlot.AlignedData;
  format: (v: number | null | undefined) => string;
  height?: number;
  zeroBased?: boolean;
  yMax?: number;
  /** The x window in seconds; the chart spans it even where there are no points. */
  xRange?: [number, number];
}

/** A time-series chart; the picture is decorative for assistive tech, the panel's table carries the numbers. */
export function TimeChart({
  title,
  series,
  data,
  format,
  height = 180,
  zeroBased,
  yMax,
  xRange,
}: TimeChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const windowRef = useRef<[number, number] | undefined>(xRange);
  windowRef.current = xRange;
  const { resolved } = useTheme();
  const spec = {
    title,
    series,
    theme: resolved,
    height,
    width: 0,
    format,
    zeroBased,
    yMax,
    xWindow: windowRef,
  };
  const key = specKey(spec);
  // biome-ignore lint/correctness/useExhaustiveDependencies: options are rebuilt only when their key changes
  const opts = useMemo(() => buildOptions({ ...spec, width: el.current?.clientWidth || 600 }), [key]);
  usePlot(el, opts, data);
  return <div ref={el} className="chart" aria-hidden="true" data-testid="chart" />;
}
