// One uPlot instance per chart: built when the options change, fed with setData, resized with setSize,
// destroyed on unmount.
import { type RefObject, useEffect, useRef } from 'react';
import uPlot from 'uplot';

export function usePlot(
  el: RefObject<HTMLDivElement | null>,
  opts: uPlot.Options,
  data: uPlot.AlignedData,
): void {
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    if (el.current === null) return;
    const u = new uPlot(opts, latest.current, el.current);
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
  }, [el, opts]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  useEffect(() => {
    const node = el.current;
    if (node === null || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      const u = plot.current;
      if (u !== null && w > 0 && w !== u.width) u.setSize({ width: w, height: u.height });
    });
    ro.observe(node);
    return () => ro.disconnect();
  }, [el]);
}
