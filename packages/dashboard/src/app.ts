// The dashboard process: the collection loop (scrape at start, then every SCRAPE_INTERVAL), the store,
// the SSE hub and the HTTP routes (docs/dashboard-api.md). Routing and HTTP concerns only; the
// answers come from api/queries.ts.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createAuth } from './api/auth.ts';
import { ApiError } from './api/errors.ts';
import { metricsCsv, usageCsv, usageJson } from './api/export.ts';
import {
  canaryQuery,
  configQuery,
  exportQuery,
  metricsQuery,
  type QueryContext,
  statusQuery,
  usageQuery,
} from './api/queries.ts';
import { createHub } from './api/sse-hub.ts';
import { serveStatic } from './api/static-files.ts';
import { createPrometheusSource } from './collector/prometheus-source.ts';
import { createScrapeSource } from './collector/scrape-source.ts';
import type { Source, Tick } from './collector/source.ts';
import type { Config } from './config.ts';
import { createDashboardMetrics } from './metrics.ts';
import type { UsageRow } from './points/point.ts';
import { toSnapshot } from './points/snapshot.ts';
import { createStore, StorageUnavailableError, type Store } from './store/store.ts';

/** The product's version, from the root package.json (in a checkout three levels above src/app.ts;
 *  in a package or image two above dist/dashboard/main.js), the one `zai-proxy --version` prints. */
export const VERSION = productVersion();

function productVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (pkg.name === 'zai-proxy' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: the next place
    }
  }
  return 'unknown';
}

export interface DashboardDeps {
  log: Logger;
  clock?: () => number;
  /** Tests: collect only when collectOnce() is called. */
  manualCollection?: boolean;
  source?: Source;
  store?: Store;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Every non-static route and its methods (docs/dashboard-api.md documents each). */
export const API_ROUTES: Record<string, string[]> = {
  '/api/metrics': ['GET', 'HEAD'],
  '/api/status': ['GET', 'HEAD'],
  '/api/config': ['GET', 'HEAD'],
  '/api/events': ['GET'],
  '/api/usage': ['GET', 'HEAD'],
  '/api/export': ['GET', 'HEAD'],
  '/api/canary': ['GET', 'HEAD'],
  '/api/session': ['GET', 'POST', 'DELETE'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

export function createDashboard(cfg: Config, deps: DashboardDeps) {
  const log = deps.log;
  const clock = deps.clock ?? Date.now;
  const metrics = createDashboardMetrics();
  const source =
    deps.source ??
    (cfg.PROMETHEUS_URL !== undefined
      ? createPrometheusSource({
          url: cfg.PROMETHEUS_URL,
          timeoutMs: cfg.SCRAPE_TIMEOUT,
          maxBytes: cfg.SCRAPE_MAX_BYTES,
        })
      : createScrapeSource({
          targets: cfg.SCRAPE_TARGETS,
          timeoutMs: cfg.SCRAPE_TIMEOUT,
          maxBytes: cfg.SCRAPE_MAX_BYTES,
        }));
  const store =
    deps.store ??
    createStore({
      path: cfg.DB_PATH,
      retention5sMs: cfg.RETENTION_5S,
      retention1mMs: cfg.RETENTION_1M,
      onError: (op, err) => {
        if (err === null) {
          metrics.storageOk.set(1);
          log.info({ path: cfg.DB_PATH }, 'Storage recovered');
          return;
        }
        metrics.storageOk.set(0);
        metrics.storageErrors.inc({ op });
        log.error(
          { op, err: err.message, path: cfg.DB_PATH },
          `Storage ${op} failed: ${err.message} (serving live data; retrying)`,
        );
      },
    });
  metrics.storageOk.set(store.open(clock()) ? 1 : 0);
  const hub = createHub({
    onDrop: () => metrics.sseDropped.inc(),
    onClients: (n) => metrics.sseClients.set(n),
  });
  const auth = createAuth(cfg.DASHBOARD_TOKEN);
  const ctx: QueryContext = { cfg, store, source, clock, version: VERSION };
  const webRoot = resolve(cfg.WEB_DIST);
  let ticks = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<Tick> | null = null;
  const wasUp = new Map<string, boolean>();

  /** One collection: scrape, store, publish. Never rejects. */
  async function collectOnce(nowMs = clock()): Promise<Tick> {
    const tick = await source.collect(nowMs, clock);
    for (const t of source.targets()) {
      metrics.scrapes.inc({ target: t.name, result: t.up ? 'ok' : 'error' });
      metrics.targetUp.set({ target: t.name }, t.up ? 1 : 0);
      if (t.duration_ms !== null) metrics.scrapeDuration.observe({ target: t.name }, t.duration_ms / 1000);
      if (wasUp.get(t.name) !== t.up) {
        if (t.up) log.info({ target: t.name, variants: t.variants }, `Target ${t.name} is up`);
        else log.warn({ target: t.name, err: t.last_error }, `Target ${t.name} is down: ${t.last_error}`);
        wasUp.set(t.name, t.up);
      }
    }
    store.write(tick, clock());
    ticks++;
    hub.publish(tick.ts, [
      ...tick.points.map((p) => ({
        event: 'metrics',
        key: `m:${p.variant}`,
        data: { type: 'metrics', data: toSnapshot(p) },
      })),
      { event: 'status', key: 'status', data: { type: 'status', data: statusQuery(ctx) } },
    ]);
    return tick;
  }

  function schedule() {
    if (stopped || deps.manualCollection) return;
    const started = clock();
    inFlight = collectOnce(started).catch((err) => {
      log.error({ err: (err as Error).message }, 'Collection failed');
      return { ts: started, points: [], usage: [] as UsageRow[] };
    });
    void inFlight.then(() => {
      inFlight = null;
      if (stopped) return;
      const wait = Math.max(0, started + cfg.SCRAPE_INTERVAL - clock());
      timer = setTimeout(schedule, wait);
    });
  }

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    let route = 'other';
    res.on('finish', () => {
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      log.debug(
        {
          method: req.method,
          url: req.url,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    handle(req, res, (r) => {
      route = r;
    }).catch((err) => {
      const e =
        err instanceof ApiError
          ? err
          : err instanceof StorageUnavailableError
            ? new ApiError('STORAGE_UNAVAILABLE', `storage unavailable: ${err.message}`)
            : null;
      if (e === null) log.error({ err: (err as Error).stack ?? String(err), url: req.url }, 'Request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(
        res,
        (e ?? new ApiError('INTERNAL', 'internal error')).status,
        (e ?? new ApiError('INTERNAL', 'internal error')).body(),
      );
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    setRoute: (r: string) => void,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const allowed = API_ROUTES[path];
    if (allowed === undefined) {
      if (path.startsWith('/api/')) throw new ApiError('NOT_FOUND', `no route ${path}`);
      setRoute('static');
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed here`);
      }
      serveStatic(webRoot, path, res, head);
      return;
    }
    setRoute(path);
    if (!allowed.includes(method)) {
      res.setHeader('allow', allowed.join(', '));
      throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
    }
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' }, head);
    if (path === '/readyz') {
      const t = source.targets();
      const up = t.filter((x) => x.up).length;
      const storage = store.status().ok;
      if (ticks > 0 && up > 0)
        return sendJson(
          res,
          200,
          { status: 'ready', targets_up: up, targets_total: t.length, storage_ok: storage },
          head,
        );
      return sendJson(
        res,
        503,
        { status: 'not_ready', reason: ticks === 0 ? 'no collection yet' : 'no target up' },
        head,
      );
    }
    if (path === '/api/session') return session(req, res, method);
    if (!auth.ok(req))
      throw new ApiError('UNAUTHORIZED', 'a DASHBOARD_TOKEN bearer token or session cookie is required');
    switch (path) {
      case '/metrics': {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(head ? undefined : text);
        return;
      }
      case '/api/metrics':
        return sendJson(res, 200, metricsQuery(ctx, url), head);
      case '/api/status':
        return sendJson(res, 200, statusQuery(ctx), head);
      case '/api/config':
        return sendJson(res, 200, configQuery(ctx), head);
      case '/api/usage':
        return sendJson(res, 200, usageQuery(ctx, url), head);
      case '/api/canary':
        return sendJson(res, 200, canaryQuery(ctx, url), head);
      case '/api/export': {
        const x = exportQuery(ctx, url);
        const body =
          x.format === 'json'
            ? JSON.stringify(x.kind === 'metrics' ? x.rows : usageJson(x.rows as UsageRow[]))
            : x.kind === 'metrics'
              ? metricsCsv(x.rows as ReturnType<typeof metricsQuery>)
              : usageCsv(x.rows as UsageRow[]);
        res.writeHead(200, {
          'content-type': x.format === 'json' ? JSON_TYPE : 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${x.filename}"`,
          'cache-control': 'no-store',
        });
        res.end(head ? undefined : body);
        return;
      }
      case '/api/events':
        hub.attach(req, res, { scrape_interval: cfg.SCRAPE_INTERVAL / 1000, variants: store.variants() });
        return;
    }
  }

  async function session(req: IncomingMessage, res: ServerResponse, method: string) {
    if (method === 'GET')
      return sendJson(res, 200, { auth_required: auth.required, authenticated: auth.ok(req) });
    if (method === 'DELETE') {
      if (auth.required) res.setHeader('set-cookie', auth.clearCookie());
      res.writeHead(204).end();
      return;
    }
    const body = await readBody(req, 4096);
    let token: unknown;
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      throw new ApiError('BAD_REQUEST', 'expected a JSON body {"token":"…"}', 'token');
    }
    if (typeof token !== 'string')
      throw new ApiError('BAD_REQUEST', 'expected a JSON body {"token":"…"}', 'token');
    if (!auth.required) {
      res.writeHead(204).end();
      return;
    }
    if (!auth.tokenMatches(token)) throw new ApiError('UNAUTHORIZED', 'wrong token');
    const secure =
      (req.socket as { encrypted?: boolean }).encrypted === true ||
      req.headers['x-forwarded-proto'] === 'https';
    res.writeHead(204, { 'set-cookie': auth.setCookie(secure) }).end();
  }

  return {
    server,
    store,
    hub,
    source,
    metrics,
    collectOnce,
    /** Listens and starts collecting (the first scrape at once). */
    async listen(port = cfg.LISTEN_ADDR.port, host = cfg.LISTEN_ADDR.host): Promise<AddressInfo> {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(port, host, () => {
          server.off('error', fail);
          ok();
        });
      });
      schedule();
      return server.address() as AddressInfo;
    },
    /** Stops collecting, ends every SSE stream, closes the server within timeoutMs and the store. */
    async close(timeoutMs = cfg.SHUTDOWN_TIMEOUT): Promise<void> {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      hub.close();
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await Promise.race([closed, inFlight ?? closed]);
      await closed;
      clearTimeout(deadline);
      store.close();
    },
  };
}

export type Dashboard = ReturnType<typeof createDashboard>;

function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((ok, fail) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        fail(new ApiError('BAD_REQUEST', `body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}
