// The node:http server: dispatches a request to an ops route or a proxied route, turns a proxied
// request into an Exchange (auth, body, JSON), runs it, and owns its end (metrics, abort on
// disconnect) and graceful draining. What a proxied route does is the handler it is given.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../errors.ts';
import { Exchange, requestIdOf } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { ResolvedRoute, RouteTable } from '../routes/index.ts';
import type { ApiSurface } from '../routes/types.ts';
import type { AccessLog } from './access-log.ts';
import type { AdminRoutes } from './admin-routes.ts';
import type { Auth } from './auth.ts';
import { type BodyBudget, parseJsonObject, parseLargeBody, readBody, type UploadLimits } from './body.ts';
import { writeError } from './error-response.ts';
import type { OpsRoutes } from './ops-routes.ts';
import type { RequestMetrics } from './request-metrics.ts';

export interface HttpServerOptions {
  log: Logger;
  upload: UploadLimits;
  /** Bytes held for request bodies across requests. */
  bodyBudget: BodyBudget;
  routes: RouteTable;
  ops: OpsRoutes;
  admin: AdminRoutes;
  auth: Auth;
  metrics: RequestMetrics;
  access: AccessLog;
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

const UPLOAD_ERRORS = new Set(['BODY_TOO_LARGE', 'BODY_BUDGET_EXCEEDED', 'REQUEST_TIMEOUT']);
/** Bodies up to this size keep their parsed tree for the whole exchange; see Exchange.json. */
const KEEP_PARSED_BYTES = 1024 * 1024;
/** Request headers a proxied request may carry. Node's own limit is on their bytes (16 KiB) and
 *  past 2,000 it drops the rest silently; a request with thousands of short headers would otherwise
 *  be forwarded with them all (an upstream that keeps only its first 1,000 then never sees the
 *  credential the proxy adds). Clients send a few dozen. */
const MAX_HEADERS = 256;
/** A refused request's body up to this size is read and dropped to keep the connection. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

function smallBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl === undefined) return req.headers['transfer-encoding'] === undefined;
  return Number(cl) <= DRAIN_LIMIT_BYTES;
}

/** The raw answer to a request Node could not parse: 431 for an oversized head, 408 for a head
 *  that did not arrive in time, 400 otherwise; always closing the connection. */
export function clientErrorResponse(code: string | undefined): string {
  const [status, text] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const body = JSON.stringify({ error: { type: 'invalid_request_error', message: text.toLowerCase() } });
  return `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
}

export function createHttpServer(o: HttpServerOptions): HttpServer {
  const { log, routes, metrics, access } = o;
  let inflight = 0;
  let draining = false; // readiness off; requests still served during the delay
  let closing = false; // the delay is over: new requests are refused
  const delay = new AbortController();
  let aborting = false; // drain timeout reached: connections closed by the proxy, not by clients
  let idle: (() => void) | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = process.hrtime.bigint();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = routes.match(path);
    if (route === undefined) {
      if (await o.ops.handle(req, path, res)) return;
      if (await o.admin.handle(path, req, res)) return;
      const e = new GatewayError('ROUTE_NOT_FOUND', `no route for ${req.method} ${path}`);
      reject(req, res, routes.familyOf(path), e, start, path.slice(0, 200));
      return;
    }
    // HEAD wherever GET is allowed: forwarded as GET, Node drops the body it would write.
    if (req.method !== route.spec.method && !(req.method === 'HEAD' && route.spec.method === 'GET')) {
      res.setHeader('allow', route.spec.method === 'GET' ? 'GET, HEAD' : route.spec.method);
      reject(req, res, route.surface, new GatewayError('METHOD_NOT_ALLOWED'), start, route.label, route);
      return;
    }
    if (req.rawHeaders.length > 2 * MAX_HEADERS) {
      reject(req, res, route.surface, new GatewayError('HEADERS_TOO_LARGE'), start, route.label, route);
      return;
    }
    if (closing) {
      res.setHeader('connection', 'close');
      reject(
        req,
        res,
        route.surface,
        new GatewayError('SHUTTING_DOWN', undefined, 1),
        start,
        route.label,
        route,
      );
      return;
    }
    // Served, but the client's next request opens a new connection, which reaches a ready pod.
    if (draining) res.setHeader('connection', 'close');
    const client = o.auth.authenticate(req);
    if (client === null) {
      reject(req, res, route.surface, new GatewayError('UNAUTHORIZED'), start, route.label, route);
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
    start: bigint,
    logRoute: string,
    route?: ResolvedRoute,
  ): void {
    const id = requestIdOf(req);
    res.setHeader('x-request-id', id);
    if (!smallBody(req)) res.setHeader('connection', 'close');
    writeError(res, surface, e, null);
    metrics.rejected(req.method ?? 'GET', route?.label ?? 'unmatched', e.status);
    access.rejected(req, id, logRoute, e, start);
    // A small body is read and dropped so the connection can be reused; a large or unbounded one
    // is not read at all: the connection closes once the answer is out.
    if (smallBody(req)) req.resume();
  }

  async function proxy(x: Exchange): Promise<void> {
    inflight++;
    metrics.inflight(inflight);
    x.res.on('close', () => closed(x));
    try {
      if (x.route.spec.method === 'POST') {
        x.body = await readBody(x.req, o.upload, o.bodyBudget, (n) => {
          x.heldBodyBytes += n;
        });
        x.bodyEditRoom = x.req.headers['content-length'] !== undefined && x.body.length > 0;
        x.timing.ready = process.hrtime.bigint(); // the upload was the client's time; parsing is ours
        metrics.requestSize(x, x.body.length);
        // A large body is validated on its bytes and only its top-level fields are decoded: its tree
        // would hold the body a second time while the request waits (see Exchange.json).
        const top = x.body.length > KEEP_PARSED_BYTES ? parseLargeBody(x.body) : parseJsonObject(x.body);
        x.json = x.body.length > KEEP_PARSED_BYTES ? null : top;
        x.model = typeof top.model === 'string' ? top.model : null;
        x.stream = top.stream === true;
        x.streamOptions = top.stream_options;
      } else {
        x.timing.ready = process.hrtime.bigint();
      }
      o.prepare(x);
      await o.run(x);
    } catch (err) {
      if (x.clientGone) return;
      if (err instanceof GatewayError) {
        // The rest of the upload is not read: the connection ends with the answer.
        if (UPLOAD_ERRORS.has(err.code)) x.res.setHeader('connection', 'close');
        writeError(x.res, x.route.surface, err, x);
        return;
      }
      x.failure = { kind: 'internal', message: (err as Error).message };
      writeError(x.res, x.route.surface, new GatewayError('INTERNAL'), x);
    }
  }

  function closed(x: Exchange): void {
    o.bodyBudget.give(x.heldBodyBytes);
    x.heldBodyBytes = 0;
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
    const outcome = !x.clientGone
      ? 'completed'
      : aborting
        ? 'proxy_abort'
        : x.brokenByProxy
          ? 'upstream_broken'
          : 'client_abort';
    const end = process.hrtime.bigint();
    metrics.completed(x, status, end, outcome);
    const u = x.tap === null ? null : x.tap.settle();
    if (u instanceof Promise) {
      const wasAborting = aborting; // an estimate settles later: keep what was true at the end
      u.then((s) => access.exchange(x, end, wasAborting, s));
    } else access.exchange(x, end, aborting, u);
    if (inflight === 0 && idle !== null) idle();
  }

  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      // The head has REQUEST_BODY_TIMEOUT to arrive; the body its own idle and rate rules (readBody).
      headersTimeout: o.upload.idleMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(Math.min(Math.floor(o.upload.idleMs / 4), 30_000), 10),
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        log.error({ err: (err as Error).message }, 'Unhandled request error');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(clientErrorResponse(err.code));
    else socket.destroy();
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
