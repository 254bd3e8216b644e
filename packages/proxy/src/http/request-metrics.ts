// Per-request series: requests, duration, sizes, first byte, overhead, client aborts, in-flight.
// prom-client hashes the label set on every labels() call, so each (method, route, status) gets its
// children bound once and reused.
import type { Exchange } from '../exchange.ts';
import type { Metrics } from '../metrics.ts';

interface Completed {
  requests: { inc(): void };
  duration: { observe(v: number): void };
  responseSize: { observe(v: number): void };
}
interface PerRoute {
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
  // Bounded: routes × methods × statuses seen.
  const completed = new Map<string, Completed>();
  const perRoute = new Map<string, PerRoute>();
  const done = (method: string, label: string, status: string): Completed => {
    const key = `${method} ${label} ${status}`;
    let c = completed.get(key);
    if (c === undefined) {
      c = {
        requests: m.requestsTotal.labels(method, label, status, v),
        duration: m.requestDuration.labels(method, label, status, v),
        responseSize: m.responseSize.labels(method, label, status, v),
      };
      completed.set(key, c);
    }
    return c;
  };
  const route = (x: Exchange): PerRoute => {
    const key = `${x.route.spec.method} ${x.route.label}`;
    let r = perRoute.get(key);
    if (r === undefined) {
      r = {
        requestSize: m.requestSize.labels(x.route.spec.method, x.route.label, v),
        firstByte: m.timeToFirstByte.labels(x.route.label, v),
        overhead: m.overhead.labels(x.route.label, v),
        clientAborts: m.clientAborts.labels(x.route.label, v),
      };
      perRoute.set(key, r);
    }
    return r;
  };
  return {
    inflight: (n) => inflight.set(n),
    requestSize: (x, bytes) => route(x).requestSize.observe(bytes),
    rejected: (method, label, status) => m.requestsTotal.labels(method, label, String(status), v).inc(),
    clientAbort: (x) => route(x).clientAborts.inc(),
    completed(x, status, end) {
      const t = x.timing;
      const c = done(x.req.method!, x.route.label, status);
      c.requests.inc();
      c.duration.observe(Number(end - t.arrived) / 1e9);
      c.responseSize.observe(x.bytesOut);
      const r = route(x);
      if (t.firstByte !== 0n) r.firstByte.observe(Number(t.firstByte - t.arrived) / 1e9);
      if (t.ready !== 0n) {
        const own = Number(end - t.ready - t.waitNs) / 1e9 + t.callbackMs / 1e3;
        r.overhead.observe(Math.max(own, 0));
      }
    },
  };
}
