import { useEffect, useMemo, useState } from 'react';
import { api, isAuthError } from '../api/client.ts';
import type { ConfigResponse, StatusResponse } from '../api/types.ts';
import { useApi } from '../hooks/useApi.ts';
import { useMetrics } from '../hooks/useMetrics.ts';
import { useNow } from '../hooks/useNow.ts';
import { useViewState } from '../hooks/useViewState.ts';
import { rangeWindow, serializeView } from '../lib/url-state.ts';
import { CHART_PANELS } from '../panels/chart-panels.ts';
import { CanaryPanel } from './CanaryPanel.tsx';
import { ChartPanel, type SeriesStatus, type VariantPoints } from './ChartPanel.tsx';
import { ConnectionStatus } from './ConnectionStatus.tsx';
import { ExportLinks } from './ExportLinks.tsx';
import { FilterSelect } from './FilterSelect.tsx';
import { QuotaPanel } from './QuotaPanel.tsx';
import { RangePicker } from './RangePicker.tsx';
import { TargetsPanel } from './TargetsPanel.tsx';
import { ThemePicker } from './ThemePicker.tsx';
import { UsagePanel } from './UsagePanel.tsx';
import { VariantPicker } from './VariantPicker.tsx';

/** How often usage totals and the canary verdict are refetched while the range follows now. */
const SLOW_REFRESH_MS = 10_000;

export function Dashboard({ config, onAuthLost }: { config: ConfigResponse; onAuthLost: () => void }) {
  const [view, setView] = useViewState();
  const now = useNow(1000);
  const [liveStatus, setLiveStatus] = useState<StatusResponse | null>(null);
  const [knownVariants, setKnownVariants] = useState<string[]>(config.variants);
  const metrics = useMetrics(view, knownVariants, config.scrape_interval, {
    onStatus: (s) => {
      setLiveStatus(s);
      const vs = Object.keys(s.variants).sort();
      if (vs.join() !== knownVariants.join())
        setKnownVariants([...new Set([...knownVariants, ...vs])].sort());
    },
  });
  const viewKey = serializeView(view);
  const slowTick = view.range.kind === 'relative' ? Math.floor(now / SLOW_REFRESH_MS) : 0;
  const status = useApi(`status`, (s) => api.status(s));
  const usage = useApi(`${viewKey}|${slowTick}`, (s) => api.usage(view, Date.now(), s));
  const canary = useApi(`${viewKey}|${slowTick}`, (s) => api.canary(view, s));
  const authError = [status, usage, canary].some((l) => l.status === 'error' && isAuthError(l.error));
  useEffect(() => {
    if (authError) onAuthLost();
  }, [authError, onAuthLost]);
  const statusNow =
    liveStatus !== null
      ? ({ status: 'ready', data: liveStatus, refreshing: false, reload: status.reload } as const)
      : status;

  const win = rangeWindow(view.range, now);
  // biome-ignore lint/correctness/useExhaustiveDependencies: points are mutated in place; `version` marks a change
  const data: VariantPoints[] = useMemo(
    () =>
      metrics.variants.map((v) => {
        const pts = metrics.store.get(v);
        return {
          variant: v,
          points:
            view.range.kind === 'custom'
              ? pts.filter((p) => p.timestamp >= win.from && p.timestamp <= win.to)
              : pts,
        };
      }),
    [metrics.store, metrics.variants, metrics.version, view.range],
  );
  const hs = Object.values(metrics.history);
  const seriesStatus: SeriesStatus =
    hs.length === 0 || hs.some((h) => h.kind === 'loading')
      ? data.some((d) => d.points.length > 0)
        ? { kind: 'ready' }
        : { kind: 'loading' }
      : hs.every((h) => h.kind === 'error')
        ? {
            kind: 'error',
            message: (hs[0] as { message: string }).message,
            retry: (hs[0] as { retry: () => void }).retry,
          }
        : { kind: 'ready' };
  const newest = Object.fromEntries(data.map((d) => [d.variant, d.points.at(-1)?.timestamp]));
  const names = (rows: { key?: string }[] | undefined) =>
    (rows ?? []).map((r) => r.key ?? '').filter((k) => k !== '');
  const storage = statusNow.status === 'ready' ? statusNow.data.storage : undefined;

  return (
    <div className="app">
      <header className="topbar">
        <h1>zai-proxy</h1>
        <nav className="controls" aria-label="View">
          <RangePicker range={view.range} now={now} onChange={(range) => setView({ ...view, range })} />
          <VariantPicker
            known={knownVariants}
            selected={view.variants}
            onChange={(variants) => setView({ ...view, variants })}
          />
          <FilterSelect
            label="Client"
            value={view.client}
            options={usage.status === 'ready' ? names(usage.data.by_client) : []}
            onChange={(client) => setView({ ...view, client })}
          />
          <FilterSelect
            label="Model"
            value={view.model}
            options={usage.status === 'ready' ? names(usage.data.by_model) : []}
            onChange={(model) => setView({ ...view, model })}
          />
          <ExportLinks view={view} now={now} />
          <ThemePicker />
        </nav>
      </header>
      <ConnectionStatus
        connection={metrics.live.connection}
        onRetry={metrics.live.retryNow}
        newest={view.range.kind === 'relative' ? newest : {}}
        now={now}
        staleAfterMs={Math.max(15_000, 3 * config.scrape_interval * 1000)}
      />
      {storage && !storage.ok && (
        <p className="banner" role="alert">
          The dashboard cannot write its history ({storage.last_error ?? 'storage error'}); live data is still
          shown.
        </p>
      )}
      {view.model && (
        <p className="banner banner-info">
          The model filter applies to tokens, cost and export; the charts show every model (the API has no
          per-model time series).
        </p>
      )}
      <main className="grid">
        <CanaryPanel canary={canary} now={now} />
        {CHART_PANELS.map((def) => (
          <ChartPanel
            key={def.id}
            def={def}
            status={seriesStatus}
            data={data}
            version={metrics.version}
            window={win}
          />
        ))}
        <UsagePanel usage={usage} />
        <QuotaPanel status={seriesStatus} data={data} now={now} />
        <TargetsPanel status={statusNow} />
      </main>
      <footer className="footer muted">
        {config.version && `dashboard ${config.version} · `}scrape every {config.scrape_interval}s
      </footer>
    </div>
  );
}
