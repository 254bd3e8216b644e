import type { SeriesDef } from '../charts/aligned.ts';
import { dashFor } from '../charts/theme-colors.ts';

function Swatch({ color, dash }: { color: string; dash: number[] }) {
  return (
    <svg width="22" height="8" aria-hidden="true" className="swatch">
      <line x1="1" y1="4" x2="21" y2="4" stroke={color} strokeWidth="2" strokeDasharray={dash.join(' ')} />
    </svg>
  );
}

/** Colour per series and line style per variant, once each (not every series × variant pair). */
export function ChartLegend({ defs, variants }: { defs: readonly SeriesDef[]; variants: readonly string[] }) {
  return (
    <div className="legend" aria-hidden="true">
      <ul>
        {defs.map((d) => (
          <li key={d.key}>
            <Swatch color={d.color} dash={[]} />
            {d.label}
          </li>
        ))}
      </ul>
      {variants.length > 1 && (
        <ul className="legend-variants">
          {variants.map((v, i) => (
            <li key={v}>
              <Swatch color="currentColor" dash={dashFor(i)} />
              {v}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
