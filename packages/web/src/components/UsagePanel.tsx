import type { UsageResponse, UsageRow } from '../api/types.ts';
import type { Loadable } from '../hooks/useApi.ts';
import { formatCount, formatRatio, formatUsd } from '../lib/format.ts';
import { Panel, type PanelState } from './Panel.tsx';

const usd = (micro: number) => micro / 1e6;

export interface UsagePanelProps {
  usage: Loadable<UsageResponse> & { reload: () => void };
}

/** Tokens and spend over the range: totals by direction, and per model, client and variant. */
export function UsagePanel({ usage }: UsagePanelProps) {
  let state: PanelState = { kind: 'ready' };
  if (usage.status === 'loading') state = { kind: 'loading' };
  else if (usage.status === 'error')
    state = { kind: 'error', message: usage.error.message, retry: usage.reload };
  else if (usage.data.totals.tokens_total === 0 && usage.data.totals.cost_micro_usd_total === 0)
    state = { kind: 'empty', message: 'No tokens were counted in this range.' };
  const d = usage.status === 'ready' ? usage.data : null;
  const hours = d ? Math.max(1 / 60, (d.end - d.start) / 3_600_000) : 1;
  return (
    <Panel
      id="usage"
      title="Tokens and cost"
      state={state}
      wide
      headline={
        d && (
          <dl className="stats">
            <div>
              <dt>Estimated spend</dt>
              <dd>{formatUsd(usd(d.totals.cost_micro_usd_total))}</dd>
            </div>
            <div>
              <dt>per hour</dt>
              <dd>{formatUsd(usd(d.totals.cost_micro_usd_total) / hours)}</dd>
            </div>
            <div>
              <dt>Input</dt>
              <dd>{formatCount(d.totals.tokens_input)}</dd>
            </div>
            <div>
              <dt>Output</dt>
              <dd>{formatCount(d.totals.tokens_output)}</dd>
            </div>
            <div>
              <dt>Cache read</dt>
              <dd>{formatCount(d.totals.tokens_cache_read)}</dd>
            </div>
            <div>
              <dt>Cache write</dt>
              <dd>{formatCount(d.totals.tokens_cache_write)}</dd>
            </div>
            <div>
              <dt>Cache hit</dt>
              <dd>{formatRatio(d.totals.cache_hit_ratio)}</dd>
            </div>
          </dl>
        )
      }
    >
      {d && (
        <div className="usage-groups">
          <UsageTable title="By model" rows={d.by_model} hours={hours} />
          <UsageTable title="By client" rows={d.by_client} hours={hours} />
          <UsageTable title="By variant" rows={d.by_variant} hours={hours} />
        </div>
      )}
    </Panel>
  );
}

function UsageTable({ title, rows, hours }: { title: string; rows: readonly UsageRow[]; hours: number }) {
  const max = Math.max(1, ...rows.map((r) => r.cost_micro_usd_total));
  return (
    <table className="usage-table" data-group={title}>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Tokens in / out</th>
          <th scope="col">Cost</th>
          <th scope="col">per hour</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={4}>none</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={r.key ?? ''} data-key={r.key ?? ''}>
            <th scope="row">
              {r.key === '' ? <em>unlabelled</em> : r.key}
              <span
                className="bar"
                style={{ width: `${(100 * r.cost_micro_usd_total) / max}%` }}
                aria-hidden="true"
              />
            </th>
            <td>
              {formatCount(r.tokens_input + r.tokens_cache_read)} / {formatCount(r.tokens_output)}
            </td>
            <td>{formatUsd(usd(r.cost_micro_usd_total))}</td>
            <td>{formatUsd(usd(r.cost_micro_usd_total) / hours)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
