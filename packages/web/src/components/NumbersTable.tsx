import type { SeriesSummary } from '../charts/aligned.ts';
import { DASH_NAMES } from '../charts/theme-colors.ts';

export interface NumbersTableProps {
  caption: string;
  rows: readonly SeriesSummary[];
  format: (v: number | null | undefined) => string;
  /** Variant order as drawn, to name each variant's line style. */
  variants: readonly string[];
}

/** The numbers behind a chart: latest, min, mean and max per line, reachable by keyboard and screen reader. */
export function NumbersTable({ caption, rows, format, variants }: NumbersTableProps) {
  const multi = variants.length > 1;
  return (
    <details className="numbers">
      <summary>Numbers behind this chart</summary>
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Series</th>
            {multi && <th scope="col">Variant</th>}
            <th scope="col">Latest</th>
            <th scope="col">Min</th>
            <th scope="col">Mean</th>
            <th scope="col">Max</th>
            <th scope="col">Points</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.label}|${r.variant}`} data-series={r.label} data-variant={r.variant}>
              <th scope="row">{r.label}</th>
              {multi && (
                <td>
                  {r.variant} ({DASH_NAMES[variants.indexOf(r.variant) % DASH_NAMES.length]})
                </td>
              )}
              <td data-stat="latest">{format(r.latest)}</td>
              <td>{format(r.min)}</td>
              <td>{format(r.mean)}</td>
              <td>{format(r.max)}</td>
              <td>{r.points}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
