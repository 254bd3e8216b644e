// History per variant from /api/metrics merged with live frames from /api/events into a bounded store.
// A new range or filter builds a new store and refetches; a reconnect refetches to fill the gap.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import type { Snapshot, StatusResponse } from '../api/types.ts';
import { createSeriesStore, resolutionFor, type SeriesStore } from '../lib/series-store.ts';
import { rangeSpanMs, serializeView, type ViewState } from '../lib/url-state.ts';
import { type LiveEvents, useLiveEvents } from './useLiveEvents.ts';

export type HistoryStatus =
  | { kind: 'loading' }
  | { kind: 'error'; message: string; retry: () => void }
  | { kind: 'ready' };

export interface MetricsData {
  store: SeriesStore;
  /** Variants shown, in overlay order (the first is drawn solid). */
  variants: string[];
  history: Record<string, HistoryStatus>;
  version: number;
  live: LiveEvents;
  /** Client time of the last live frame per variant. */
  lastFrameAt: Record<string, number>;
}

export function useMetrics(
  view: ViewState,
  knownVariants: readonly string[],
  scrapeIntervalS: number,
  extra: { onStatus?: (s: StatusResponse) => void } = {},
): MetricsData {
  const span = rangeSpanMs(view.range);
  const resolution = resolutionFor(span, Math.max(250, scrapeIntervalS * 1000));
  const viewKey = serializeView(view);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new view (by its URL) gets a fresh store
  const store = useMemo(() => createSeriesStore(span, resolution), [span, resolution, viewKey]);
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  const [history, setHistory] = useState<Record<string, HistoryStatus>>({});
  const [lastFrameAt, setLastFrameAt] = useState<Record<string, number>>({});
  const [reload, setReload] = useState(0);
  const variants = useMemo(
    () => (view.variants.length > 0 ? view.variants : [...knownVariants].sort(productionFirst)),
    [view.variants, knownVariants],
  );
  const wanted = useRef(new Set<string>());
  wanted.current = new Set(variants);

  // With a client filter, token fields of live frames would be variant-wide: refetch history each tick instead.
  const filtered = view.client !== null;
  const onSnapshot = useCallback(
    (s: Snapshot) => {
      if (view.range.kind !== 'relative' || !wanted.current.has(s.variant) || filtered) return;
      store.push(s, Date.now());
      setLastFrameAt((m) => ({ ...m, [s.variant]: Date.now() }));
      bump();
    },
    [store, view.range.kind, filtered],
  );
  const onStatus = extra.onStatus;
  const liveUrl = view.range.kind === 'relative' ? api.eventsUrl() : null;
  const live = useLiveEvents(liveUrl, {
    onSnapshot,
    onStatus: (st) => {
      onStatus?.(st);
      if (filtered) setReload((n) => n + 1);
    },
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: refetch on a new store, variant set, reconnect or retry
  useEffect(() => {
    const ac = new AbortController();
    const retry = () => setReload((n) => n + 1);
    setHistory(Object.fromEntries(variants.map((v) => [v, { kind: 'loading' } as HistoryStatus])));
    for (const v of variants) {
      api.metrics(view, Date.now(), v, ac.signal).then(
        (points) => {
          if (ac.signal.aborted) return;
          store.setHistory(v, points, view.range.kind === 'custom' ? view.range.to : Date.now());
          setHistory((h) => ({ ...h, [v]: { kind: 'ready' } }));
          bump();
        },
        (e: unknown) => {
          if (ac.signal.aborted) return;
          setHistory((h) => ({ ...h, [v]: { kind: 'error', message: (e as Error).message, retry } }));
        },
      );
    }
    return () => ac.abort();
  }, [store, variants.join(','), live.reconnects, reload]);

  return { store, variants, history, version, live, lastFrameAt };
}

/** Production first, then the others by name, so production is the solid line in an overlay. */
export function productionFirst(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'production') return -1;
  if (b === 'production') return 1;
  return a < b ? -1 : 1;
}
