// The node:http server: dispatches a request to an ops route or a proxied route, turns a proxied
// request into an Exchange (auth, body, JSON), runs it, and owns its end (metrics, abort on
// disconnect) and graceful draining. What a proxied route does is the handler it is given.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../errors.ts';
import { Exchange } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { ResolvedRoute, RouteTable } from '../routes/index.ts';
import type { ApiSurface } from '../routes/types.ts';
import type { AdminRoutes } from './admin-routes.ts';
import type { Auth } from './auth.ts';
import { parseJsonObject, readBody } from './body.ts';
import { writeError } from './error-response.ts';
import type { OpsRoutes } from './ops-routes.ts';
import type { RequestMetrics } from './request-metrics.ts';

export interface HttpServerOptions {
  log: Logger;
  maxRequestBytes: number;
  routes: RouteTable;
  ops: OpsRoutes;
  admin: AdminRoutes;
  auth: Auth;
  metrics: RequestMetrics;
  /** After the body is parsed, before the route runs (accounting: may splice x.body, set x.tap). */
  prepare(x: Exchange): void;
  /** Runs a proxied exchange; resolves when the client has its answer (or left). Throws a
   *  GatewayError to answer with it. */
  run(x: Exchange): Promise<void>;
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  inflight(): number;
  /** True from the start of a drain: /readyz answers 503. */
  draining(): boolean;
  /** Keeps serving for delayMs with readiness off (new requests still proxied, their connections
   *  closed after the response), then stops accepting, lets in-flight requests finish up to
   *  timeoutMs, then breaks them. */
  drain(timeoutMs: number, delayMs?: number): Promise<void>;
  /** Ends a drain's delay now (a second SIGTERM/SIGINT). */
  endDelay(): void;
}

export function createHttpServer(o: HttpServerOptions): HttpServer {
  const { log, routes, metrics } = o;
  let inflight = 0;
  let draining = false; // readiness off; requests still served during the delay
  let closing = false; // the delay is over: new requests are refused
  const delay = new AbortController();
  let aborting = false; // drain timeout reached: connections closed by the proxy, not by clients
  let idle: (() => void) | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = routes.match(path);
    if (route === undefined) {
      if (await o.ops.handle(path, res)) return;
      if (await o.admin.handle(path, req, res)) return;
      const e = new GatewayError('ROUTE_NOT_FOUND', `no route for ${req.method} ${path}`);
      reject(req, res, routes.familyOf(path), e);
      return;
    }
    if (req.method !== route.spec.method) {
      res.setHeader('allow', route.spec.method);
      reject(req, res, route.surface, new GatewayError('METHOD_NOT_ALLOWED'), route);
      return;
    }
    if (closing) {
      res.setHeader('connection', 'close');
      reject(req, res, route.surface, new GatewayError('SHUTTING_DOWN', undefined, 1), route);
      return;
    }
    // Served, but the client's next request opens a new connection, which reaches a ready pod.
    if (draining) res.setHeader('connection', 'close');
    const client = o.auth.authenticate(req);
    if (client === null) {
      reject(req, res, route.surface, new GatewayError('UNAUTHORIZED'), route);
      return;
    }
    await proxy(new Exchange(req, res, route, client));
  }

  /** Answers a request that never becomes an exchange; still counted by route label. */
  function reject(
    req: IncomingMessage,
    res: ServerResponse,
    surface: ApiSurface,
    e: GatewayError,
    route?: ResolvedRoute,
  ): void {
    writeError(res, surface, e, null);
    metrics.rejected(req.method ?? 'GET', route?.label ?? 'unmatched', e.status);
    req.resume(); // drain any body so the connection can be reused
  }

  async function proxy(x: Exchange): Promise<void> {
    inflight++;
    metrics.inflight(inflight);
    x.res.on('close', () => closed(x));
    try {
      if (x.route.spec.method === 'POST') {
        x.body = await readBody(x.req, o.maxRequestBytes);
        x.timing.ready = process.hrtime.bigint(); // the upload was the client's time; parsing is ours
        metrics.requestSize(x, x.body.length);
        x.json = parseJsonObject(x.body);
        x.model = typeof x.json.model === 'string' ? x.json.model : null;
        x.stream = x.json.stream === true;
      } else {
        x.timing.ready = process.hrtime.bigint();
      }
      o.prepare(x);
      await o.run(x);
    } catch (err) {
      if (x.clientGone) return;
      if (err instanceof GatewayError) {
        if (err.code === 'BODY_TOO_LARGE') x.res.setHeader('connection', 'close');
        writeError(x.res, x.route.surface, err, x);
        return;
      }
      log.error({ requestId: x.id, err: (err as Error).message }, 'Request failed inside the proxy');
      writeError(x.res, x.route.surface, new GatewayError('INTERNAL'), x);
    }
  }

  function closed(x: Exchange): void {
    inflight--;
    metrics.inflight(inflight);
    if (!x.res.writableFinished) {
      // The client left (or the connection broke) before the response finished: cancel everything.
      x.clientGone = true;
      x.abort.abort();
      x.controller?.abort(new Error('client disconnected'));
      if (!x.brokenByProxy && !aborting) metrics.clientAbort(x);
    }
    const status = x.clientGone && !x.committed ? '499' : String(x.status || 499);
    metrics.completed(x, status, process.hrtime.bigint());
    x.tap?.settle();
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
    inflight: () => inflight,
    draining: () => draining,
    endDelay: () => delay.abort(),
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async drain(timeoutMs, delayMs = 0) {
      draining = true;
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: delay.signal }).catch(() => {});
      closing = true;
      server.close();
      server.closeIdleConnections();
      if (inflight === 0) return;
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
    },
  };
}
