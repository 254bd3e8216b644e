import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Snapshot } from '../api/types.ts';
import { CHART_PANELS } from '../panels/chart-panels.ts';
import { FakePlot } from '../test-fakes.ts';
import { ChartPanel } from './ChartPanel.tsx';

const win = { from: 0, to: 60_000 };
const delta = {
  requests: 10,
  requests_2xx: 8,
  requests_4xx: 1,
  requests_5xx: 1,
  errors: 1,
  requests_429: 1,
  broken_streams: 0,
  client_aborts: 0,
  upstream_errors: 2,
  retries: 1,
  rate_limit_rejections: 3,
  rate_limit_adj_increase: 1,
  rate_limit_adj_decrease: 0,
  quota_gate_rejections: 0,
  tokens_input: 300,
  tokens_output: 50,
  tokens_cache_read: 100,
  tokens_cache_write: 0,
  cost_micro_usd_input: 180,
  cost_micro_usd_output: 110,
  cost_micro_usd_cache_read: 10,
  cost_micro_usd_cache_write: 0,
  zai_errors: { concurrency: 2 },
  admission_refusals: { queue_full: 2, queue_timeout: 1 },
  concurrency_adjustments: { decrease: 1, increase: 1 },
};
const full = (variant: string, timestamp: number, k = 1): Snapshot => ({
  variant,
  timestamp,
  interval_seconds: 5,
  req_rate: 2 * k,
  status_code_rates: { '200': 1.6 * k, '429': 0.2, '500': 0.2 },
  error_rate_pct: 10,
  latency_p50: 400,
  latency_p95: 900,
  latency_p99: 1200,
  ttfb_p50: 120,
  ttfb_p95: 300,
  token_rate_in: 60,
  token_rate_out: 10,
  token_rate_cache_read: 20,
  token_rate_cache_write: 0,
  concurrent_requests: 3,
  max_workers: 10,
  rate_limit_rps: 5,
  concurrency_limit: 4,
  upstream_inflight_attempts: 2,
  queue_depth: 6,
  queue_wait_p50: 12,
  queue_wait_p95: 40,
  delta,
});

describe('ChartPanel states', () => {
  for (const def of CHART_PANELS) {
    describe(def.title, () => {
      it('shows loading while history loads', () => {
        render(<ChartPanel def={def} status={{ kind: 'loading' }} data={[]} version={0} window={win} />);
        const panel = screen.getByRole('region', { name: def.title });
        expect(panel).toHaveAttribute('aria-busy', 'true');
        expect(within(panel).getByRole('status')).toHaveTextContent(`Loading ${def.title}`);
        expect(FakePlot.instances).toHaveLength(0);
      });

      it('shows the error with a retry', () => {
        const retry = vi.fn();
        render(
          <ChartPanel
            def={def}
            status={{ kind: 'error', message: 'HTTP 503', retry }}
            data={[]}
            version={0}
            window={win}
          />,
        );
        const alert = screen.getByRole('alert');
        expect(alert).toHaveTextContent('HTTP 503');
        fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
        expect(retry).toHaveBeenCalledOnce();
      });

      it('says so when the range has no points', () => {
        render(
          <ChartPanel
            def={def}
            status={{ kind: 'ready' }}
            data={[{ variant: 'production', points: [] }]}
            version={0}
            window={win}
          />,
        );
        expect(screen.getByText('No data in this range yet.')).toBeInTheDocument();
      });

      it('says which figures are missing when points carry none of its fields', () => {
        const bare = [{ variant: 'production', points: [{ variant: 'production', timestamp: 1000 }] }];
        render(<ChartPanel def={def} status={{ kind: 'ready' }} data={bare} version={0} window={win} />);
        expect(screen.getByText(def.missing)).toBeInTheDocument();
        expect(FakePlot.instances).toHaveLength(0);
      });
    });
  }
});

describe('ChartPanel numbers', () => {
  it('puts the latest figures in the headline and the table', () => {
    const def = CHART_PANELS.find((d) => d.id === 'latency')!;
    const points = [full('production', 1000), { ...full('production', 6000), latency_p50: 512 }];
    render(
      <ChartPanel
        def={def}
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points }]}
        version={1}
        window={win}
      />,
    );
    const row = screen.getByRole('row', { name: /^p50/ });
    expect(within(row).getAllByRole('cell')[0]).toHaveTextContent('512 ms');
    expect(within(row).getAllByRole('cell')[1]).toHaveTextContent('400 ms');
    expect(screen.getByRole('region', { name: def.title })).toHaveAttribute('data-state', 'ready');
  });

  it('overlays variants: one line each, the table names both', () => {
    const def = CHART_PANELS.find((d) => d.id === 'requests')!;
    const data = [
      { variant: 'production', points: [full('production', 1000)] },
      { variant: 'canary', points: [full('canary', 2000, 3)] },
    ];
    render(<ChartPanel def={def} status={{ kind: 'ready' }} data={data} version={1} window={win} />);
    expect(FakePlot.instances[0]!.opts.series).toHaveLength(1 + 2 * 3);
    expect(screen.getByRole('row', { name: /2xx production/ })).toHaveTextContent('1.6/s');
    expect(screen.getByRole('row', { name: /2xx canary/ })).toHaveTextContent('4.8/s');
  });

  it('derives rates from the interval delta (Z.AI classes, cost)', () => {
    const zai = CHART_PANELS.find((d) => d.id === 'zai-classes')!;
    render(
      <ChartPanel
        def={zai}
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points: [full('production', 1000)] }]}
        version={1}
        window={win}
      />,
    );
    expect(screen.getByRole('row', { name: /concurrency/ })).toHaveTextContent('0.40/s');
    const cost = CHART_PANELS.find((d) => d.id === 'cost')!;
    render(
      <ChartPanel
        def={cost}
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points: [full('production', 1000)] }]}
        version={1}
        window={win}
      />,
    );
    // 300 micro-dollars in 5 s = $0.216 per hour
    expect(screen.getByRole('row', { name: /estimated spend/ })).toHaveTextContent('$0.22/h');
  });

  it('headlines a ratio over the whole range, request-weighted, not the jumpy latest interval', () => {
    const def = CHART_PANELS.find((d) => d.id === 'error-ratio')!;
    const a = {
      ...full('production', 1000),
      error_rate_pct: 10,
      delta: { ...delta, errors: 1, requests: 10 },
    };
    const b = {
      ...full('production', 6000),
      error_rate_pct: 0,
      delta: { ...delta, errors: 0, requests: 30 },
    };
    render(
      <ChartPanel
        def={def}
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points: [a, b] }]}
        version={1}
        window={win}
      />,
    );
    expect(screen.getByText('over the range').nextElementSibling).toHaveTextContent('2.50%');
  });
});

describe('admission panels', () => {
  const one = (id: string, points: Snapshot[]) => {
    const def = CHART_PANELS.find((d) => d.id === id)!;
    render(
      <ChartPanel
        def={def}
        status={{ kind: 'ready' }}
        data={[{ variant: 'production', points }]}
        version={1}
        window={win}
      />,
    );
    return screen.getByRole('region', { name: def.title });
  };
  const latest = (name: RegExp) => within(screen.getByRole('row', { name })).getAllByRole('cell')[0];

  it('concurrency and queue: in flight, MAX_WORKERS, the adaptive limit and the queue depth', () => {
    const panel = one('concurrency', [
      full('production', 1000),
      { ...full('production', 6000), queue_depth: 2 },
    ]);
    expect(panel).toHaveAttribute('data-state', 'ready');
    expect(latest(/^in flight/)).toHaveTextContent('3');
    expect(latest(/^MAX_WORKERS/)).toHaveTextContent('10');
    expect(latest(/^adaptive limit/)).toHaveTextContent('4');
    expect(latest(/^queued/)).toHaveTextContent('2');
    expect(within(screen.getByRole('row', { name: /^queued/ })).getAllByRole('cell')[3]).toHaveTextContent(
      '6',
    );
  });

  it('MAX_WORKERS is in the numbers table but not drawn, so 256 does not flatten the other lines', () => {
    one('concurrency', [full('production', 1000)]);
    const drawn = FakePlot.instances[0]!.opts.series.map((x) => x.label);
    expect(drawn).toEqual(['time', 'in flight', 'adaptive limit', 'queued']);
    expect(FakePlot.instances[0]!.data).toHaveLength(4);
    expect(latest(/^MAX_WORKERS/)).toHaveTextContent('10');
  });

  it('an older server without the admission fields: the lines it has, dashes for the rest', () => {
    const old = { ...full('production', 1000), concurrency_limit: undefined, queue_depth: undefined };
    one('concurrency', [old]);
    expect(latest(/^in flight/)).toHaveTextContent('3');
    expect(latest(/^adaptive limit/)).toHaveTextContent('—');
  });

  it('queue wait: p50 and p95', () => {
    one('queue-wait', [full('production', 1000)]);
    expect(latest(/^wait p50/)).toHaveTextContent('12 ms');
    expect(latest(/^wait p95/)).toHaveTextContent('40 ms');
  });

  it('queue wait with nothing admitted says so instead of a flat line', () => {
    const idle = { ...full('production', 1000), queue_wait_p50: null, queue_wait_p95: null };
    expect(one('queue-wait', [idle])).toHaveTextContent(
      'No queue wait figures in this range (nothing was admitted, or admission is off).',
    );
  });

  it('rate limiter: the rate, rejections and both controllers’ adjustments per second', () => {
    one('limiter', [full('production', 1000)]);
    expect(latest(/^rate 5/)).toHaveTextContent('5.0/s');
    expect(latest(/^rejections/)).toHaveTextContent('0.60/s');
    expect(latest(/^rate adjustments/)).toHaveTextContent('0.20/s');
    expect(latest(/^limit adjustments/)).toHaveTextContent('0.40/s');
  });

  it('refusals: one line per reason seen in the range, per second', () => {
    one('refusals', [full('production', 1000)]);
    expect(latest(/^queue_full/)).toHaveTextContent('0.40/s');
    expect(latest(/^queue_timeout/)).toHaveTextContent('0.20/s');
    expect(screen.queryByRole('row', { name: /^max_workers/ })).toBeNull();
  });

  it('refusals: none in the range is an empty state, not a chart', () => {
    const calm = { ...full('production', 1000), delta: { ...delta, admission_refusals: {} } };
    expect(one('refusals', [calm])).toHaveTextContent('No requests refused by admission in this range.');
    expect(FakePlot.instances).toHaveLength(0);
  });
});
