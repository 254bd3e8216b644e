// The dashboard's own Prometheus series, declared in one place on its own Registry.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createDashboardMetrics() {
  const registry = new Registry();
  const r = [registry];
  return {
    registry,
    scrapes: new Counter({
      name: 'zai_dashboard_scrapes_total',
      help: 'Scrapes of a target by result (ok or error).',
      labelNames: ['target', 'result'] as const,
      registers: r,
    }),
    scrapeDuration: new Histogram({
      name: 'zai_dashboard_scrape_duration_seconds',
      help: 'Time to fetch and parse one target.',
      labelNames: ['target'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    targetUp: new Gauge({
      name: 'zai_dashboard_target_up',
      help: '1 when the last scrape of the target succeeded.',
      labelNames: ['target'] as const,
      registers: r,
    }),
    storageOk: new Gauge({
      name: 'zai_dashboard_storage_ok',
      help: '1 while the SQLite store works; 0 after a failure until it recovers.',
      registers: r,
    }),
    storageErrors: new Counter({
      name: 'zai_dashboard_storage_errors_total',
      help: 'Storage failures by operation (open, write, read, prune).',
      labelNames: ['op'] as const,
      registers: r,
    }),
    sseClients: new Gauge({
      name: 'zai_dashboard_sse_clients',
      help: 'Connected /api/events streams.',
      registers: r,
    }),
    sseDropped: new Counter({
      name: 'zai_dashboard_sse_dropped_total',
      help: 'Event streams closed because the client did not read.',
      registers: r,
    }),
    httpRequests: new Counter({
      name: 'zai_dashboard_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['route', 'status'] as const,
      registers: r,
    }),
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
