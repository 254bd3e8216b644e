import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { QuotaState, Snapshot } from '../api/types.ts';
import { QuotaPanel } from './QuotaPanel.tsx';

const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);
const withQuota = (variant: string, quota: QuotaState, timestamp = NOW): Snapshot => ({
  variant,
  timestamp,
  quota,
});
const q: QuotaState = {
  five_hour: {
    limit_type: 'tokens_limit',
    usage_ratio: 0.423,
    remaining_ratio: 0.577,
    reset_time_unix: NOW / 1000 + 2 * 3600 + 15 * 60,
  },
  weekly: { limit_type: 'tokens_limit', usage_ratio: 0.1 },
  sample_age_seconds: 42,
};

describe('QuotaPanel', () => {
  it('shows used, left, the reset countdown and freshness', () => {
    render(
      <QuotaPanel
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points: [withQuota('production', q)] }]}
        now={NOW}
      />,
    );
    const five = screen.getByRole('row', { name: /5 hours/ });
    expect(five).toHaveTextContent('42%');
    expect(five).toHaveTextContent('58%');
    expect(five).toHaveTextContent('in 2h 15m');
    expect(screen.getByRole('row', { name: /Week/ })).toHaveTextContent('—');
    expect(screen.getByTestId('quota-production-freshness')).toHaveTextContent('sample 42s old');
    expect(screen.getByTestId('quota-production-freshness')).not.toHaveTextContent('stale');
    expect(screen.getByTestId('quota-production-gate')).toHaveTextContent('observe-only');
  });

  it('ages the sample with the clock and flags it stale past 15 minutes', () => {
    const points = [withQuota('production', q, NOW - 20 * 60_000)];
    render(<QuotaPanel status={{ kind: 'ready' }} data={[{ variant: 'production', points }]} now={NOW} />);
    expect(screen.getByTestId('quota-production-freshness')).toHaveTextContent('sample 20m old (stale)');
  });

  it('words the gate literally: open lets requests pass', () => {
    const data = [
      {
        variant: 'production',
        points: [withQuota('production', { ...q, enforcement: true, gate_open: true })],
      },
      { variant: 'canary', points: [withQuota('canary', { ...q, enforcement: true, gate_open: false })] },
    ];
    render(<QuotaPanel status={{ kind: 'ready' }} data={data} now={NOW} />);
    expect(screen.getByTestId('quota-production-gate')).toHaveTextContent('gate open: requests pass');
    expect(screen.getByTestId('quota-canary-gate')).toHaveTextContent('gate closed: requests are held');
  });

  it('forecasts exhaustion from the burn in range', () => {
    const points = [0, 1, 2].map((m) =>
      withQuota(
        'production',
        { ...q, five_hour: { ...q.five_hour, usage_ratio: 0.5 + 0.1 * m } },
        NOW - (2 - m) * 60_000,
      ),
    );
    render(<QuotaPanel status={{ kind: 'ready' }} data={[{ variant: 'production', points }]} now={NOW} />);
    expect(within(screen.getByRole('row', { name: /5 hours/ })).getAllByRole('cell')[3]).toHaveTextContent(
      'runs out in 3m 0s',
    );
  });

  it('explains an empty state instead of inventing numbers', () => {
    render(
      <QuotaPanel
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points: [{ variant: 'production', timestamp: NOW }] }]}
        now={NOW}
      />,
    );
    expect(screen.getByText(/No quota telemetry/)).toBeInTheDocument();
  });

  it('has loading and error states', () => {
    const { unmount } = render(<QuotaPanel status={{ kind: 'loading' }} data={[]} now={NOW} />);
    expect(screen.getByRole('status')).toHaveTextContent('Loading Quota');
    unmount();
    render(<QuotaPanel status={{ kind: 'error', message: 'HTTP 500' }} data={[]} now={NOW} />);
    expect(screen.getByRole('alert')).toHaveTextContent('HTTP 500');
  });
});
