import type { StatusResponse } from '../api/types.ts';
import type { Loadable } from '../hooks/useApi.ts';
import { formatAge, formatMs } from '../lib/format.ts';
import { Panel, type PanelState } from './Panel.tsx';

export interface TargetsPanelProps {
  status: Loadable<StatusResponse> & { reload: () => void };
}

/** Per scrape target: up or down, its variants, the age of its last good scrape and its last error. */
export function TargetsPanel({ status }: TargetsPanelProps) {
  let state: PanelState = { kind: 'ready' };
  if (status.status === 'loading') state = { kind: 'loading' };
  else if (status.status === 'error')
    state = { kind: 'error', message: status.error.message, retry: status.reload };
  else if (status.data.targets.length === 0)
    state = { kind: 'empty', message: 'No scrape targets are configured.' };
  const data = status.status === 'ready' ? status.data : null;
  const up = data?.targets.filter((t) => t.up).length ?? 0;
  return (
    <Panel
      id="targets"
      title="Targets"
      state={state}
      headline={data && <span className="big">{`${up} of ${data.targets.length} up`}</span>}
    >
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable table must be reachable by keyboard to scroll */}
      <section className="table-scroll" aria-label="Scrape targets" tabIndex={0}>
        <table className="targets-table">
          <caption className="sr-only">Scrape targets</caption>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">State</th>
              <th scope="col">Variants</th>
              <th scope="col">Last good scrape</th>
              <th scope="col">Scrape time</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {data?.targets.map((t) => (
              <tr key={t.name} data-target={t.name}>
                <th scope="row" title={t.url}>
                  {t.name}
                </th>
                <td>
                  <span className={t.up ? 'badge badge-ok' : 'badge badge-bad'}>{t.up ? 'up' : 'down'}</span>
                </td>
                <td>{t.variants.join(', ') || '—'}</td>
                <td>{t.age_seconds === null ? 'never' : `${formatAge(t.age_seconds)} ago`}</td>
                <td>{formatMs(t.duration_ms)}</td>
                <td className="error-text">
                  {t.last_error ?? '—'}
                  {t.consecutive_failures > 1 ? ` (${t.consecutive_failures}× in a row)` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Panel>
  );
}
