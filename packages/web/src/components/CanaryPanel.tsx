import type { CanaryMetric, CanaryResponse, CanaryResult, Num } from '../api/types.ts';
import type { Loadable } from '../hooks/useApi.ts';
import { formatCountdown, formatMs, formatRatio } from '../lib/format.ts';
import { Panel, type PanelState } from './Panel.tsx';

const VERDICT_TEXT: Record<CanaryResult['verdict'], string> = {
  promote: 'Promote',
  hold: 'Hold',
  rollback: 'Roll back',
  insufficient_data: 'Insufficient data',
};

const METRIC_TEXT: Record<string, string> = {
  error_ratio: 'error ratio',
  overhead: 'proxy overhead (p95)',
  ttfb: 'time to first byte (p95)',
  zai_error_mix: 'Z.AI error mix',
  token_count_p99: 'token count (p99)',
};

const metricName = (m: string | null) => (m === null ? '—' : (METRIC_TEXT[m] ?? m.replaceAll('_', ' ')));

function metricValue(metric: string, v: Num): string {
  if (v === null) return '—';
  if (metric === 'error_ratio') return formatRatio(v, 2);
  if (metric === 'overhead' || metric === 'ttfb') return formatMs(v);
  if (metric === 'zai_error_mix') return `${v} errors`;
  return v.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function pText(p: Num | undefined): string {
  if (p === null || p === undefined) return '—';
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

export interface CanaryPanelProps {
  canary: Loadable<CanaryResponse> & { reload: () => void };
  now: number;
}

/** The canary verdict per candidate variant: the decision, the metric that decided it and its figures. */
export function CanaryPanel({ canary, now }: CanaryPanelProps) {
  let state: PanelState = { kind: 'ready' };
  if (canary.status === 'loading') state = { kind: 'loading' };
  else if (canary.status === 'error')
    state = { kind: 'error', message: canary.error.message, retry: canary.reload };
  else if (canary.data.results.length === 0)
    state = { kind: 'empty', message: 'No canary: only the baseline variant has data in this window.' };
  const data = canary.status === 'ready' ? canary.data : null;
  return (
    <Panel
      id="canary"
      title="Canary verdict"
      state={state}
      wide
      aside={
        data && (
          <span className="muted">
            window {data.window} · baseline {data.baseline}
          </span>
        )
      }
    >
      {data?.results.map((r) => (
        <CanaryResultView key={r.variant} r={r} baseline={data.baseline} now={now} />
      ))}
    </Panel>
  );
}

function CanaryResultView({ r, baseline, now }: { r: CanaryResult; baseline: string; now: number }) {
  const deciding = r.metrics.find((m) => m.metric === r.deciding_metric);
  return (
    <div className="canary-result" data-variant={r.variant}>
      <p className="verdict-line">
        <span className={`verdict verdict-${r.verdict}`} data-testid={`verdict-${r.variant}`}>
          {VERDICT_TEXT[r.verdict]}
        </span>{' '}
        <strong>{r.variant}</strong>
        {r.forced && <span className="badge badge-bad">forced by a rollback trigger</span>}
        {r.confidence !== null && <span className="muted"> confidence {formatRatio(r.confidence, 1)}</span>}
      </p>
      <p className="reason">{r.reason}</p>
      {r.verdict === 'insufficient_data' && r.needed && (
        <p className="needed" data-testid={`needed-${r.variant}`}>
          Needs {r.needed.requests} more request{r.needed.requests === 1 ? '' : 's'} on {r.needed.variant}
          {r.needed.eta !== null
            ? `, about ${formatCountdown(r.needed.eta - now)} at the current rate`
            : ' (no traffic now)'}
          .
        </p>
      )}
      {deciding && (
        <p className="deciding">
          Deciding metric: <strong>{metricName(deciding.metric)}</strong>: {r.variant}{' '}
          {metricValue(deciding.metric, deciding.candidate.value)} (n = {deciding.candidate.n}) vs {baseline}{' '}
          {metricValue(deciding.metric, deciding.baseline.value)} (n = {deciding.baseline.n}), p ={' '}
          {pText(deciding.p_value)}
        </p>
      )}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable table must be reachable by keyboard to scroll */}
      <section className="table-scroll" aria-label={`Canary metrics for ${r.variant}`} tabIndex={0}>
        <table className="canary-table">
          <caption className="sr-only">
            Canary metrics for {r.variant} against {baseline}
          </caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">{baseline}</th>
              <th scope="col">{r.variant}</th>
              <th scope="col">p</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {r.metrics.map((m: CanaryMetric) => (
              <tr
                key={m.metric}
                data-metric={m.metric}
                className={m.metric === r.deciding_metric ? 'deciding-row' : undefined}
              >
                <th scope="row">{metricName(m.metric)}</th>
                <td>
                  {metricValue(m.metric, m.baseline.value)} <span className="muted">n={m.baseline.n}</span>
                </td>
                <td>
                  {metricValue(m.metric, m.candidate.value)} <span className="muted">n={m.candidate.n}</span>
                </td>
                <td>{pText(m.p_value)}</td>
                <td>
                  <span className={`outcome outcome-${m.outcome}`}>{m.outcome.replace('_', ' ')}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
