import type { QuotaState, Snapshot } from '../api/types.ts';
import { formatAge, formatCountdown, formatDateTime, formatRatio } from '../lib/format.ts';
import { type Forecast, forecastExhaustion, type QuotaWindowKey } from '../lib/quota-forecast.ts';
import type { VariantPoints } from './ChartPanel.tsx';
import { Panel, type PanelState } from './Panel.tsx';

/** The proxy calls a quota sample stale after QUOTA_STALE_AFTER, 15 minutes by default. */
export const QUOTA_STALE_AFTER_S = 15 * 60;

const WINDOWS: { key: QuotaWindowKey; label: string }[] = [
  { key: 'five_hour', label: '5 hours' },
  { key: 'weekly', label: 'Week' },
];

function forecastText(f: Forecast, now: number): string {
  switch (f.kind) {
    case 'exhausted':
      return 'exhausted';
    case 'at':
      return f.beforeReset
        ? `runs out in ${formatCountdown(f.ms - now)}`
        : 'lasts until the reset at this rate';
    case 'not-rising':
      return 'not rising';
    default:
      return 'not enough samples yet';
  }
}

function gateText(q: QuotaState): string {
  if (!q.enforcement) return 'observe-only (the proxy does not gate on quota)';
  if (q.gate_open === undefined) return 'enforcing (rate cap)';
  return q.gate_open ? 'gate open: requests pass' : 'gate closed: requests are held';
}

export interface QuotaPanelProps {
  status: { kind: 'loading' } | { kind: 'error'; message: string; retry?: () => void } | { kind: 'ready' };
  data: readonly VariantPoints[];
  now: number;
}

/** Quota per variant: used, left, reset countdown, forecast of exhaustion, sample freshness, gate state. */
export function QuotaPanel({ status, data, now }: QuotaPanelProps) {
  const withQuota = data
    .map((d) => ({ variant: d.variant, points: d.points, latest: lastWithQuota(d.points) }))
    .filter(
      (d): d is { variant: string; points: readonly Snapshot[]; latest: Snapshot & { quota: QuotaState } } =>
        d.latest !== null,
    );
  let state: PanelState = { kind: 'ready' };
  if (status.kind !== 'ready') state = status.kind === 'loading' ? status : { ...status };
  else if (withQuota.length === 0)
    state = {
      kind: 'empty',
      message:
        'No quota telemetry: the proxy exports quota figures when its quota poller is on (QUOTA_POLL_ENABLED).',
    };

  return (
    <Panel id="quota" title="Quota" state={state}>
      {withQuota.map(({ variant, points, latest }) => {
        const q = latest.quota;
        // the sample's age as of now: its age when the snapshot was taken plus the time since
        const age =
          q.sample_age_seconds === undefined
            ? undefined
            : q.sample_age_seconds + Math.max(0, now - latest.timestamp) / 1000;
        const stale = age !== undefined && age > QUOTA_STALE_AFTER_S;
        return (
          <div key={variant} className="quota-variant" data-variant={variant}>
            {data.length > 1 && <h3>{variant}</h3>}
            <p className="quota-meta">
              <span
                className={stale ? 'badge badge-warn' : 'badge badge-ok'}
                data-testid={`quota-${variant}-freshness`}
              >
                {age === undefined
                  ? 'no sample yet'
                  : `sample ${formatAge(age)} old${stale ? ' (stale)' : ''}`}
              </span>
              <span className="badge" data-testid={`quota-${variant}-gate`}>
                {gateText(q)}
              </span>
            </p>
            <table className="quota-table">
              <caption className="sr-only">Quota windows for {variant}</caption>
              <thead>
                <tr>
                  <th scope="col">Window</th>
                  <th scope="col">Used</th>
                  <th scope="col">Left</th>
                  <th scope="col">Resets</th>
                  <th scope="col">Forecast</th>
                </tr>
              </thead>
              <tbody>
                {WINDOWS.map(({ key, label }) => {
                  const w = q[key];
                  const used = w?.usage_ratio;
                  const left = w?.remaining_ratio ?? (used !== undefined ? Math.max(0, 1 - used) : undefined);
                  const reset = w?.reset_time_unix !== undefined ? w.reset_time_unix * 1000 : undefined;
                  return (
                    <tr key={key} data-window={key}>
                      <th scope="row">{label}</th>
                      <td>
                        {used !== undefined ? (
                          <>
                            <meter
                              min={0}
                              max={1}
                              low={0.7}
                              high={0.9}
                              optimum={0}
                              value={Math.min(1, used)}
                              aria-hidden="true"
                            />{' '}
                            {formatRatio(used, 0)}
                          </>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>{formatRatio(left, 0)}</td>
                      <td title={reset !== undefined ? formatDateTime(reset) : undefined}>
                        {reset !== undefined ? `in ${formatCountdown(reset - now)}` : '—'}
                      </td>
                      <td>
                        {w === undefined ? '—' : forecastText(forecastExhaustion(points, key, now), now)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        );
      })}
    </Panel>
  );
}

function lastWithQuota(points: readonly Snapshot[]): Snapshot | null {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.quota !== undefined) return points[i]!;
  return null;
}
