import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource } from '../test-fakes.ts';
import { retryDelay, useLiveEvents } from './useLiveEvents.ts';

describe('useLiveEvents', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('backs off 1 s, 2 s, 4 s … up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('delivers metrics and status frames and ignores malformed ones', () => {
    const onSnapshot = vi.fn();
    const onStatus = vi.fn();
    renderHook(() => useLiveEvents('/api/events', { onSnapshot, onStatus }));
    const es = FakeEventSource.latest();
    act(() => es.open());
    act(() => {
      es.emit('metrics', { type: 'metrics', data: { variant: 'production', timestamp: 1 } });
      es.emit('metrics', { type: 'metrics', data: { variant: 'production' } });
      es.emit('status', { type: 'status', data: { targets: [], variants: {} } });
    });
    expect(onSnapshot).toHaveBeenCalledExactlyOnceWith({ variant: 'production', timestamp: 1 });
    expect(onStatus).toHaveBeenCalledOnce();
  });

  it('reconnects with backoff after errors, and "retry now" reconnects at once', () => {
    const { result } = renderHook(() => useLiveEvents('/api/events', { onSnapshot: () => {} }));
    expect(result.current.connection.state).toBe('connecting');
    act(() => FakeEventSource.latest().fail());
    expect(FakeEventSource.latest().closed).toBe(true);
    expect(result.current.connection).toMatchObject({ state: 'waiting', attempt: 0 });
    act(() => vi.advanceTimersByTime(999));
    expect(FakeEventSource.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeEventSource.instances).toHaveLength(2);
    act(() => FakeEventSource.latest().fail());
    act(() => vi.advanceTimersByTime(1999));
    expect(FakeEventSource.instances).toHaveLength(2);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeEventSource.instances).toHaveLength(3);
    act(() => FakeEventSource.latest().fail());
    expect(result.current.connection).toMatchObject({ state: 'waiting', attempt: 2 });
    act(() => result.current.retryNow());
    expect(FakeEventSource.instances).toHaveLength(4);
    act(() => FakeEventSource.latest().open());
    expect(result.current.connection.state).toBe('open');
  });

  it('counts reopenings so history can be refetched for the gap', () => {
    const { result } = renderHook(() => useLiveEvents('/api/events', { onSnapshot: () => {} }));
    act(() => FakeEventSource.latest().open());
    expect(result.current.reconnects).toBe(0);
    act(() => FakeEventSource.latest().fail());
    act(() => vi.advanceTimersByTime(1000));
    act(() => FakeEventSource.latest().open());
    expect(result.current.reconnects).toBe(1);
  });

  it('closes the stream on unmount and stops retrying', () => {
    const { unmount } = renderHook(() => useLiveEvents('/api/events', { onSnapshot: () => {} }));
    act(() => FakeEventSource.latest().fail());
    unmount();
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeEventSource.instances).toHaveLength(1);
  });
});
