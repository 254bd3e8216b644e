import { render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { CanaryResponse, CanaryResult } from '../api/types.ts';
import { CanaryPanel } from './CanaryPanel.tsx';

const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);
const base = { generated_at: NOW, window: '15m', baseline: 'production', min_sample: 50 };
const metric = (m: string, outcome: string, b: number, c: number, p: number) => ({
  metric: m,
  outcome,
  test: 't',
  baseline: { n: 400, value: b },
  candidate: { n: 120, value: c },
  p_value: p,
});
const ready = (results: CanaryResult[]) =>
  ({
    status: 'ready',
    data: { ...base, results } as CanaryResponse,
    refreshing: false,
    reload: vi.fn(),
  }) as const;

describe('CanaryPanel', () => {
  it('shows the verdict, the deciding metric and its figures', () => {
    const r: CanaryResult = {
      variant: 'canary',
      verdict: 'rollback',
      deciding_metric: 'error_ratio',
      reason: 'canary errors more',
      confidence: 0.999,
      forced: false,
      needed: null,
      metrics: [
        metric('error_ratio', 'rollback', 0.004, 0.2, 0.0001),
        metric('ttfb', 'pass', 300, 310, 0.6),
      ] as CanaryResult['metrics'],
    };
    render(<CanaryPanel canary={ready([r])} now={NOW} />);
    expect(screen.getByTestId('verdict-canary')).toHaveTextContent('Roll back');
    expect(screen.getByText(/Deciding metric/)).toHaveTextContent(
      'error ratio: canary 20.00% (n = 120) vs production 0.40% (n = 400), p = < 0.001',
    );
    expect(
      within(screen.getByRole('row', { name: /time to first byte/ })).getAllByRole('cell')[0],
    ).toHaveTextContent('300 ms');
  });

  it('says how many more requests an inconclusive canary needs', () => {
    const r: CanaryResult = {
      variant: 'canary',
      verdict: 'insufficient_data',
      deciding_metric: null,
      reason: 'too few requests',
      confidence: null,
      needed: { requests: 38, variant: 'canary', eta_seconds: 190, eta: NOW + 190_000 },
      metrics: [],
    };
    render(<CanaryPanel canary={ready([r])} now={NOW} />);
    expect(screen.getByTestId('verdict-canary')).toHaveTextContent('Insufficient data');
    expect(screen.getByTestId('needed-canary')).toHaveTextContent(
      'Needs 38 more requests on canary, about 3m 10s at the current rate.',
    );
  });

  it('has loading, error and empty states', () => {
    const reload = vi.fn();
    const { unmount } = render(<CanaryPanel canary={{ status: 'loading', reload }} now={NOW} />);
    expect(screen.getByRole('status')).toBeInTheDocument();
    unmount();
    const u2 = render(
      <CanaryPanel canary={{ status: 'error', error: new Error('HTTP 503'), reload }} now={NOW} />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('HTTP 503');
    u2.unmount();
    render(<CanaryPanel canary={ready([])} now={NOW} />);
    expect(screen.getByText(/only the baseline variant/)).toBeInTheDocument();
  });
});
