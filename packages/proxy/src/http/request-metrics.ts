// Per-request series: requests, duration, sizes, first byte, overhead, client aborts, in-flight.
// prom-client hashes the label set on every labels() call, so each (method, route, status) gets its
// children bound once and reused.
import type { Exchange } from '../exchange.ts';
import type { Metrics } from '../metrics.ts';
import type { ResolvedRoute } from '../routes/index.ts';

interface Completed {
  requests: { inc(): void };
  duration: { observe(v: number): void };
  responseSize: { observe(v: number): void };
}
interface PerRoute {
  /** By status code. */
  completed: Map<string, Completed>;
  requestSize: { observe(v: number): void };
  firstByte: { observe(v: number): void };
  overhead: { observe(v: number): void };
  clientAborts: { inc(): void };
}

export interface RequestMetrics {
  inflight(n: number): void;
  requestSize(x: Exchange, bytes: number): void;
  /** A request answered before it became an exchange (404, 405, 401, draining 503). */
  rejected(method: string, label: string, status: number): void;
  clientAbort(x: Exchange): void;
  /** Once per exchange, when its response closed. */
  completed(x: Exchange, status: string, endNs: bigint): void;
}

export function createRequestMetrics(m: Metrics): RequestMetrics {
  const v = m.variant;
  const inflight = m.concurrentRequests.labels(v);
  inflight.set(0);
  // Keyed by the route object (one per client path, built once) and then by status: bounded, and
  // no key string is built per request. An exchange's method is always its route's method.
  const perRoute = new Map<ResolvedRoute, PerRoute>();
  const route = (x: Exchange): PerRoute => {
    let r = perRoute.get(x.route);
    if (r === undefined) {
      const { label } = x.route;
      r = {
        completed: new Map(),
        requestSize: m.requestSize.labels(x.route.spec.method, label, v),
        firstByte: m.timeToFirstByte.labels(label, v),
        overhead: m.overhead.labels(label, v),
        clientAborts: m.clientAborts.labels(label, v),
      };
      perRoute.set(x.route, r);
    }
    return r;
  };
  const done = (r: PerRoute, x: Exchange, status: string): Completed => {
    let c = r.completed.get(status);
    if (c === undefined) {
      const { method } = x.route.spec;
      c = {
        requests: m.requestsTotal.labels(method, x.route.label, status, v),
        duration: m.requestDuration.labels(method, x.route.label, status, v),
        responseSize: m.responseSize.labels(method, x.route.label, status, v),
      };
      r.completed.set(status, c);
    }
    return c;
  };
  return {
    inflight: (n) => inflight.set(n),
    requestSize: (x, bytes) => route(x).requestSize.observe(bytes),
    rejected: (method, label, status) => m.requestsTotal.labels(method, label, String(status), v).inc(),
    clientAbort: (x) => route(x).clientAborts.inc(),
    completed(x, status, end) {
      const t = x.timing;
      const r = route(x);
      const c = done(r, x, status);
      c.requests.inc();
      c.duration.observe(Number(end - t.arrived) / 1e9);
      c.responseSize.observe(x.bytesOut);
      if (t.firstByte !== 0n) r.firstByte.observe(Number(t.firstByte - t.arrived) / 1e9);
      if (t.ready !== 0n) {
        const own = Number(end - t.ready - t.waitNs) / 1e9 + t.callbackMs / 1e3;
        r.overhead.observe(Math.max(own, 0));
      }
    },
  };
}
