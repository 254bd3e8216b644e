import { render } from '@testing-library/react';
import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import { FakePlot } from '../test-fakes.ts';
import type { PlotSeries } from './aligned.ts';
import { TimeChart } from './TimeChart.tsx';

const fmt = (v: number | null | undefined) => String(v);
const one: PlotSeries[] = [
  { def: { key: 'a', label: 'a', color: '#000', get: () => 1 }, variant: 'production', variantIndex: 0 },
];
const two: PlotSeries[] = [...one, { ...one[0]!, variant: 'canary', variantIndex: 1 }];

describe('TimeChart', () => {
  it('feeds new data into the same chart with setData instead of rebuilding it', () => {
    const d1: uPlot.AlignedData = [
      [1, 2],
      [5, 6],
    ];
    const d2: uPlot.AlignedData = [
      [1, 2, 3],
      [5, 6, 7],
    ];
    const { rerender } = render(<TimeChart title="t" series={one} data={d1} format={fmt} />);
    expect(FakePlot.instances).toHaveLength(1);
    const plot = FakePlot.instances[0]!;
    rerender(<TimeChart title="t" series={[...one]} data={d2} format={fmt} />);
    rerender(
      <TimeChart
        title="t"
        series={[...one]}
        data={[
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ]}
        format={fmt}
      />,
    );
    expect(FakePlot.instances).toHaveLength(1);
    expect(plot.destroyed).toBe(false);
    expect(plot.setData).toHaveBeenLastCalledWith([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('rebuilds only when the series set changes, and destroys on unmount', () => {
    const d: uPlot.AlignedData = [[1], [1]];
    const { rerender, unmount } = render(<TimeChart title="t" series={one} data={d} format={fmt} />);
    rerender(<TimeChart title="t" series={two} data={[[1], [1], [2]]} format={fmt} />);
    expect(FakePlot.instances).toHaveLength(2);
    expect(FakePlot.instances[0]!.destroyed).toBe(true);
    expect(FakePlot.instances[1]!.opts.series).toHaveLength(3);
    unmount();
    expect(FakePlot.instances[1]!.destroyed).toBe(true);
  });

  it('draws a second variant dashed and names it in the legend', () => {
    render(<TimeChart title="t" series={two} data={[[1], [1], [2]]} format={fmt} />);
    const s = FakePlot.instances[0]!.opts.series;
    expect(s[1]!.dash).toEqual([]);
    expect(s[2]!.dash).toEqual([6, 4]);
    expect(s[2]!.label).toBe('a · canary');
  });
});
