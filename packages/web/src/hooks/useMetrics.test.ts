import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Snapshot } from '../api/types.ts';
import { capacityFor } from '../lib/series-store.ts';
import { DEFAULT_VIEW, type ViewState } from '../lib/url-state.ts';
import { FakeEventSource } from '../test-fakes.ts';
import { productionFirst, useMetrics } from './useMetrics.ts';

const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);
const snap = (variant: string, timestamp: number, req_rate = 1): Snapshot => ({
  variant,
  timestamp,
  req_rate,
});

function mockHistory(byVariant: Record<string, Snapshot[]>) {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      calls.push(url);
      const v = new URL(url, 'http://x').searchParams.get('variant') ?? '';
      return new Response(JSON.stringify(byVariant[v] ?? []), { status: 200 });
    }),
  );
  return calls;
}

describe('useMetrics', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  });
  afterEach(() => vi.useRealTimers());

  it('fetches history per variant and merges live frames into it', async () => {
    const calls = mockHistory({
      production: [snap('production', NOW - 10_000, 1), snap('production', NOW - 5_000, 2)],
      canary: [snap('canary', NOW - 5_000, 7)],
    });
    const view: ViewState = { ...DEFAULT_VIEW, range: { kind: 'relative', key: '5m' } };
    const { result } = renderHook(() => useMetrics(view, ['canary', 'production'], 5));
    await waitFor(() => expect(result.current.history.canary?.kind).toBe('ready'));
    await waitFor(() => expect(result.current.history.production?.kind).toBe('ready'));
    expect(calls.sort()).toEqual([
      '/api/metrics?range=5m&variant=canary',
      '/api/metrics?range=5m&variant=production',
    ]);
    expect(result.current.variants).toEqual(['production', 'canary']);
    act(() =>
      FakeEventSource.latest().emit('metrics', { type: 'metrics', data: snap('production', NOW, 3) }),
    );
    expect(result.current.store.get('production').map((p) => p.req_rate)).toEqual([1, 2, 3]);
    expect(result.current.store.get('canary').map((p) => p.req_rate)).toEqual([7]);
  });

  it('refetches when the range changes', async () => {
    const calls = mockHistory({});
    let view: ViewState = { ...DEFAULT_VIEW, variants: ['production'] };
    const { rerender, result } = renderHook(() => useMetrics(view, ['production'], 5));
    await waitFor(() => expect(result.current.history.production?.kind).toBe('ready'));
    view = { ...view, range: { kind: 'relative', key: '24h' } };
    rerender();
    await waitFor(() => expect(calls).toContain('/api/metrics?range=24h&variant=production'));
  });

  it('holds memory to range ÷ interval points per variant under an accelerated live feed', async () => {
    mockHistory({});
    const view: ViewState = { ...DEFAULT_VIEW, range: { kind: 'relative', key: '5m' } };
    const { result } = renderHook(() => useMetrics(view, ['canary', 'production'], 1));
    await waitFor(() => expect(result.current.history.production?.kind).toBe('ready'));
    const es = FakeEventSource.latest();
    const cap = capacityFor(5 * 60_000, 1000);
    let peak = 0;
    // 30 minutes of frames at 4 per second per variant (4× the scrape rate), the clock moving with them
    for (let i = 0; i < 7200; i++) {
      const t = NOW + i * 250;
      vi.setSystemTime(t);
      act(() => {
        es.emit('metrics', { type: 'metrics', data: snap('production', t) });
        es.emit('metrics', { type: 'metrics', data: snap('canary', t) });
      });
      peak = Math.max(peak, result.current.store.size());
    }
    expect(peak).toBeLessThanOrEqual(2 * cap);
    expect(result.current.store.get('production').length).toBeGreaterThan(cap - 5);
  });

  it('ignores live frames of variants not shown, and all of them for a fixed range', async () => {
    mockHistory({});
    const view: ViewState = { ...DEFAULT_VIEW, variants: ['canary'] };
    const { result } = renderHook(() => useMetrics(view, ['canary', 'production'], 5));
    await waitFor(() => expect(result.current.history.canary?.kind).toBe('ready'));
    act(() => FakeEventSource.latest().emit('metrics', { type: 'metrics', data: snap('production', NOW) }));
    expect(result.current.store.size()).toBe(0);
    const fixed: ViewState = { ...DEFAULT_VIEW, range: { kind: 'custom', from: NOW - 60_000, to: NOW } };
    const before = FakeEventSource.instances.length;
    const r2 = renderHook(() => useMetrics(fixed, ['production'], 5));
    expect(FakeEventSource.instances.length).toBe(before);
    expect(r2.result.current.live.connection.state).toBe('off');
  });

  it('orders production first in overlays', () => {
    expect(['canary-b', 'production', 'canary-a'].sort(productionFirst)).toEqual([
      'production',
      'canary-a',
      'canary-b',
    ]);
  });
});
