import { render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { StatusResponse, TargetHealth } from '../api/types.ts';
import { TargetsPanel } from './TargetsPanel.tsx';

const target = (name: string, up: boolean, extra: Partial<TargetHealth> = {}): TargetHealth => ({
  name,
  url: `http://127.0.0.1/${name}`,
  variants: up ? [name] : [],
  up,
  last_scrape: 1,
  last_success: up ? 1 : null,
  age_seconds: up ? 2.1 : null,
  duration_ms: 4.2,
  last_error: up ? null : 'ECONNREFUSED',
  consecutive_failures: up ? 0 : 3,
  ...extra,
});
const ready = (targets: TargetHealth[]) =>
  ({
    status: 'ready',
    data: { now: 0, scrape_interval: 5, variants: {}, targets } as StatusResponse,
    refreshing: false,
    reload: vi.fn(),
  }) as const;

describe('TargetsPanel', () => {
  it('says how many targets are up and why one is down', () => {
    render(<TargetsPanel status={ready([target('production', true), target('canary', false)])} />);
    expect(screen.getByText('1 of 2 up')).toBeInTheDocument();
    const down = screen.getByRole('row', { name: /canary/ });
    expect(down).toHaveTextContent('down');
    expect(down).toHaveTextContent('never');
    expect(down).toHaveTextContent('ECONNREFUSED (3× in a row)');
    expect(screen.getByRole('row', { name: /production/ })).toHaveTextContent('2s ago');
  });

  it('has loading, error and empty states', () => {
    const reload = vi.fn();
    const a = render(<TargetsPanel status={{ status: 'loading', reload }} />);
    expect(screen.getByRole('status')).toBeInTheDocument();
    a.unmount();
    const b = render(<TargetsPanel status={{ status: 'error', error: new Error('HTTP 401'), reload }} />);
    expect(screen.getByRole('alert')).toHaveTextContent('HTTP 401');
    b.unmount();
    render(<TargetsPanel status={ready([])} />);
    expect(screen.getByText('No scrape targets are configured.')).toBeInTheDocument();
  });
});
