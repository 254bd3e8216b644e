// The node:http server: route table, auth, body limits, health/metrics endpoints, the request
// lifecycle (metrics on close, abort on disconnect) and graceful shutdown.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admission, noSignals, openAdmission, type UpstreamSignals } from './admission/index.ts';
import type { Config } from './config.ts';
import { GatewayError } from './errors.ts';
import type { Exchange } from './exchange.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createRouteTable, type ResolvedRoute } from './routes/index.ts';
import type { ApiSurface } from './routes/types.ts';
import { createUpstreamClient, type UpstreamClient } from './upstream/client.ts';
import { type ForwardDeps, forward, type Timers } from './upstream/forward.ts';
import { clientCredential } from './upstream/headers.ts';
import { type Accounting, noAccounting } from './usage/index.ts';

export interface ProxyOptions {
  log: Logger;
  timers?: Timers;
  admission?: Admission;
  signals?: UpstreamSignals;
  accounting?: (metrics: Metrics) => Accounting;
  client?: UpstreamClient;
}

export interface ProxyServer {
  readonly server: Server;
  readonly metrics: Metrics;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish up to timeoutMs, then aborts them. */
  shutdown(timeoutMs: number): Promise<void>;
  inflight(): number;
}

const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  random: Math.random,
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Builds the proxy server (not yet listening). */
export function createProxy(cfg: Config, opts: ProxyOptions): ProxyServer {
  const log = opts.log;
  const metrics = createMetrics(cfg.DEPLOYMENT_VARIANT);
  const v = cfg.DEPLOYMENT_VARIANT;
  metrics.buildInfo.labels(cfg.ZAI_PROXY_VERSION, v, cfg.ZAI_PROXY_COMMIT, cfg.ZAI_PROXY_BUILD_TIME).set(1);
  const inflightGauge = metrics.concurrentRequests.labels(v);
  inflightGauge.set(0);
  const routes = createRouteTable(cfg);
  const client = opts.client ?? createUpstreamClient({ connectTimeoutMs: cfg.UPSTREAM_CONNECT_TIMEOUT });
  const accounting = opts.accounting ? opts.accounting(metrics) : noAccounting;
  const proxyKeys = cfg.PROXY_API_KEYS.map(digest);
  const zaiKey = cfg.ZAI_API_KEY;

  let inflight = 0;
  let draining = false;
  let aborting = false; // shutdown timeout reached: connections closed by the proxy, not by clients
  let idle: (() => void) | null = null;

  const sendError = (x: Exchange, e: GatewayError) => writeError(x.res, x.route.surface, e, x);
  const deps: ForwardDeps = {
    client,
    admission: opts.admission ?? openAdmission,
    signals: opts.signals ?? noSignals,
    metrics,
    log,
    timers: opts.timers ?? realTimers,
    maxRetries: cfg.MAX_RETRIES,
    maxRetryWaitMs: cfg.MAX_RETRY_WAIT,
    maxResponseBuffer: cfg.MAX_RESPONSE_BUFFER_BYTES,
    headersTimeoutMs: cfg.UPSTREAM_HEADERS_TIMEOUT,
    idleTimeoutMs: cfg.UPSTREAM_IDLE_TIMEOUT,
    credential: (x) => {
      const key = zaiKey ?? clientCredential(x.req.headers);
      return key === null ? null : x.route.surface.credentialHeaders(key);
    },
    sendError,
    countTokensLocally: (x) => accounting.countTokensLocally(x),
  };

  function health(): string {
    // Keys in the original's order (Go sorted them); sections are extended, never renamed.
    return JSON.stringify({
      quota: { enabled: false, fresh: false },
      rate_limit: { current_rate: 0, ceiling: 0, hold: 0, restored_from_state: false, enabled: false },
      status: 'ok',
      token_counting: accounting.health(),
      variant: v,
      version: cfg.ZAI_PROXY_VERSION,
    });
  }

  function authorized(req: IncomingMessage): boolean {
    if (proxyKeys.length === 0) return true;
    const presented = clientCredential(req.headers);
    if (presented === null) return false;
    const d = digest(presented);
    let ok = false;
    // Compare against every key, equal-length digests, no early exit: constant time.
    for (const k of proxyKeys) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    switch (path) {
      case '/health':
        res.writeHead(200, JSON_HEADERS).end(health());
        return;
      case '/healthz':
        res.writeHead(200, JSON_HEADERS).end('{"status":"ok"}');
        return;
      case '/readyz':
        res
          .writeHead(draining ? 503 : 200, JSON_HEADERS)
          .end(draining ? '{"status":"draining"}' : '{"status":"ready"}');
        return;
      case '/metrics': {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
        return;
      }
    }
    const route = routes.match(path);
    if (route === undefined) {
      reject(
        req,
        res,
        routes.familyOf(path),
        new GatewayError('ROUTE_NOT_FOUND', `no route for ${req.method} ${path}`),
      );
      return;
    }
    if (req.method !== route.spec.method) {
      res.setHeader('allow', route.spec.method);
      reject(req, res, route.surface, new GatewayError('METHOD_NOT_ALLOWED'), route);
      return;
    }
    if (draining) {
      res.setHeader('connection', 'close');
      reject(req, res, route.surface, new GatewayError('SHUTTING_DOWN', undefined, 1), route);
      return;
    }
    if (!authorized(req)) {
      reject(req, res, route.surface, new GatewayError('UNAUTHORIZED'), route);
      return;
    }
    await proxyRequest(req, res, route);
  }

  /** Answers a request that never becomes an exchange; still counted by route label. */
  function reject(
    req: IncomingMessage,
    res: ServerResponse,
    surface: ApiSurface,
    e: GatewayError,
    route?: ResolvedRoute,
  ) {
    writeError(res, surface, e, null);
    metrics.requestsTotal.labels(req.method ?? 'GET', route?.label ?? 'unmatched', String(e.status), v).inc();
    req.resume(); // drain any body so the connection can be reused
  }

  async function proxyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    route: ResolvedRoute,
  ): Promise<void> {
    const rid = req.headers['x-request-id'];
    const x: Exchange = {
      req,
      res,
      route,
      id: typeof rid === 'string' && REQUEST_ID.test(rid) ? rid : randomUUID(),
      t0: process.hrtime.bigint(),
      tReady: 0n,
      body: EMPTY,
      json: null,
      model: null,
      stream: false,
      clientGone: false,
      abort: new AbortController(),
      controller: null,
      tap: null,
      status: 0,
      bytesOut: 0,
      tFirstByte: 0n,
      waitNs: 0n,
      callbackMs: 0,
      committed: false,
      brokenByProxy: false,
    };
    inflight++;
    inflightGauge.set(inflight);
    res.on('close', () => onClose(x));

    try {
      if (route.spec.method === 'POST') {
        x.body = await readBody(req, cfg.MAX_REQUEST_BYTES);
        x.tReady = process.hrtime.bigint(); // the upload was the client's time; parsing is ours
        metrics.requestSize.labels(req.method!, route.label, v).observe(x.body.length);
        x.json = parseJsonObject(x.body);
        x.model = typeof x.json.model === 'string' ? x.json.model : null;
        x.stream = x.json.stream === true;
      } else {
        x.tReady = process.hrtime.bigint();
      }
      accounting.prepare(x);
      await forward(x, deps);
    } catch (err) {
      if (x.clientGone) return;
      if (err instanceof GatewayError) {
        if (err.code === 'BODY_TOO_LARGE') res.setHeader('connection', 'close');
        sendError(x, err);
        return;
      }
      log.error({ requestId: x.id, err: (err as Error).message }, 'Request failed inside the proxy');
      if (x.committed) res.destroy();
      else sendError(x, new GatewayError('INTERNAL'));
    }
  }

  function onClose(x: Exchange): void {
    inflight--;
    inflightGauge.set(inflight);
    if (!x.res.writableFinished) {
      // The client left (or the connection broke) before the response finished: cancel everything.
      x.clientGone = true;
      x.abort.abort();
      x.controller?.abort(new Error('client disconnected'));
      if (!x.brokenByProxy && !aborting) metrics.clientAborts.labels(x.route.label, v).inc();
    }
    const end = process.hrtime.bigint();
    const status = x.clientGone && !x.committed ? '499' : String(x.status || 499);
    const method = x.req.method!;
    metrics.requestsTotal.labels(method, x.route.label, status, v).inc();
    metrics.requestDuration.labels(method, x.route.label, status, v).observe(Number(end - x.t0) / 1e9);
    metrics.responseSize.labels(method, x.route.label, status, v).observe(x.bytesOut);
    if (x.tFirstByte !== 0n)
      metrics.timeToFirstByte.labels(x.route.label, v).observe(Number(x.tFirstByte - x.t0) / 1e9);
    if (x.tReady !== 0n) {
      const own = Number(end - x.tReady - x.waitNs) / 1e9 + x.callbackMs / 1e3;
      metrics.overhead.labels(x.route.label, v).observe(Math.max(own, 0));
    }
    accounting.settle(x);
    if (inflight === 0 && idle !== null) idle();
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err: (err as Error).message }, 'Unhandled request error');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  return {
    server,
    metrics,
    inflight: () => inflight,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async shutdown(timeoutMs) {
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        const drained = new Promise<void>((r) => {
          idle = r;
        });
        const t = sleep(timeoutMs, undefined, { ref: false }).then(() => 'timeout' as const);
        const r = await Promise.race([drained.then(() => 'drained' as const), t]);
        if (r === 'timeout') {
          log.warn({ inflight }, 'Shutdown timeout reached; aborting in-flight requests');
          aborting = true;
          server.closeAllConnections();
        }
      }
      await client.close().catch(() => {});
      await accounting.close();
    },
  };
}

const EMPTY = Buffer.alloc(0);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Writes a proxy-generated error in the surface's envelope. */
function writeError(res: ServerResponse, surface: ApiSurface, e: GatewayError, x: Exchange | null): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = surface.errorBody(e);
  const h: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (x !== null) {
    h['x-request-id'] = x.id;
    x.status = e.status;
    x.committed = true;
    x.bytesOut += Buffer.byteLength(body);
  }
  if (e.retryAfterSec !== null) h['retry-after'] = String(e.retryAfterSec);
  res.writeHead(e.status, h).end(body);
}

/** Reads a request body up to `limit` bytes; a larger one is a 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new GatewayError('BODY_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new GatewayError('BODY_TOO_LARGE'));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('INVALID_JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new GatewayError('INVALID_JSON', 'request body must be a JSON object');
  }
  return v as Record<string, unknown>;
}
