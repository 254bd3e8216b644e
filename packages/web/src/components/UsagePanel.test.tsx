import { render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { UsageResponse, UsageRow } from '../api/types.ts';
import { UsagePanel } from './UsagePanel.tsx';

const row = (key: string, micro: number, input = 1000): UsageRow => ({
  key,
  tokens_input: input,
  tokens_output: 200,
  tokens_cache_read: 500,
  tokens_cache_write: 0,
  tokens_total: input + 700,
  cost_micro_usd_total: micro,
  cache_hit_ratio: 500 / (input + 500),
});
const usage = (
  rows: UsageRow[],
  total = row(
    '',
    rows.reduce((a, r) => a + r.cost_micro_usd_total, 0),
  ),
): UsageResponse => ({
  start: 0,
  end: 2 * 3_600_000,
  totals: total,
  by_model: rows,
  by_client: [row('', total.cost_micro_usd_total)],
  by_variant: rows,
});
const ready = (data: UsageResponse) =>
  ({ status: 'ready', data, refreshing: false, reload: vi.fn() }) as const;

describe('UsagePanel', () => {
  it('shows spend, spend per hour and the split by model, client and variant', () => {
    render(<UsagePanel usage={ready(usage([row('glm-4.6', 1_500_000), row('glm-4.5-air', 250_000)]))} />);
    expect(screen.getByText('Estimated spend').nextElementSibling).toHaveTextContent('$1.75');
    expect(screen.getByText('per hour', { selector: 'dt' }).nextElementSibling).toHaveTextContent('$0.88');
    const model = screen.getByRole('table', { name: 'By model' });
    expect(model).toHaveTextContent('glm-4.6');
    expect(model).toHaveTextContent('$1.50');
    expect(screen.getByRole('table', { name: 'By client' })).toHaveTextContent('unlabelled');
  });

  it('has loading, error and empty states', () => {
    const reload = vi.fn();
    const a = render(<UsagePanel usage={{ status: 'loading', reload }} />);
    expect(screen.getByRole('status')).toHaveTextContent('Loading Tokens and cost');
    a.unmount();
    const b = render(<UsagePanel usage={{ status: 'error', error: new Error('HTTP 503'), reload }} />);
    expect(screen.getByRole('alert')).toHaveTextContent('HTTP 503');
    b.unmount();
    const zero = { ...row('', 0), tokens_input: 0, tokens_output: 0, tokens_cache_read: 0, tokens_total: 0 };
    render(<UsagePanel usage={ready(usage([], zero))} />);
    expect(screen.getByText('No tokens were counted in this range.')).toBeInTheDocument();
  });
});
