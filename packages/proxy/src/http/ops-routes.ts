// The proxy's own endpoints: `/` (an index: what this is and where to go), /health (composed from
// each module's section), /healthz, /readyz, /metrics. None of them is counted as a request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.ts';
import { bearerMatches } from './auth.ts';

/** A module's /health section, read on each request to /health. */
export type HealthSection = () => unknown;

export interface OpsRoutesOptions {
  metrics: Metrics;
  /** Sections by name; rendered in key order with `status`, `variant` and `version`. */
  sections: Readonly<Record<string, HealthSection>>;
  variant: string;
  version: string;
  /** Proxied routes (`POST /v1/messages`…), listed by `/`. */
  endpoints: readonly string[];
  /** The dashboard's URL when one is configured. */
  dashboardUrl: string | undefined;
  draining(): boolean;
  /** METRICS_TOKEN: when set, /metrics and /health need it as a Bearer token. */
  token?: string | undefined;
}

export interface OpsRoutes {
  /** Answers `path` if it is an ops route; false when it is not one. */
  handle(req: IncomingMessage, path: string, res: ServerResponse): boolean | Promise<boolean>;
  /** The /health document. */
  health(): Record<string, unknown>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const OPS_PATHS = new Set(['/', '/health', '/healthz', '/readyz', '/metrics']);
/** The paths that carry client names, spend and quota. */
const GUARDED = new Set(['/health', '/metrics']);

export function createOpsRoutes(o: OpsRoutesOptions): OpsRoutes {
  // Keys sorted, as the Go proxy's JSON encoder wrote them; sections are extended, never renamed.
  const fixed: Record<string, HealthSection> = {
    status: () => 'ok',
    variant: () => o.variant,
    version: () => o.version,
  };
  const all = { ...o.sections, ...fixed };
  const names = Object.keys(all).sort();
  const health = () => {
    const doc: Record<string, unknown> = {};
    for (const n of names) doc[n] = all[n]!();
    return doc;
  };
  // `/` answers a person or a probe (Claude Code sends `HEAD /` at start-up): 200, never an error.
  const index = JSON.stringify({
    name: 'zai-proxy',
    version: o.version,
    endpoints: [...o.endpoints, 'GET /health', 'GET /healthz', 'GET /readyz', 'GET /metrics'],
    dashboard: o.dashboardUrl ?? null,
  });
  return {
    health,
    handle(req, path, res) {
      if (!OPS_PATHS.has(path)) return false;
      // Read-only endpoints: GET and HEAD (Node sends no body for HEAD), nothing else.
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...JSON_HEADERS, allow: 'GET, HEAD' }).end('{"error":"method not allowed"}');
        return true;
      }
      if (o.token !== undefined && GUARDED.has(path) && !bearerMatches(req, o.token)) {
        res
          .writeHead(401, { ...JSON_HEADERS, 'www-authenticate': 'Bearer' })
          .end('{"error":"METRICS_TOKEN required"}');
        return true;
      }
      switch (path) {
        case '/':
          res.writeHead(200, JSON_HEADERS).end(index); // node sends no body for HEAD
          return true;
        case '/health':
          res.writeHead(200, JSON_HEADERS).end(JSON.stringify(health()));
          return true;
        case '/healthz':
          res.writeHead(200, JSON_HEADERS).end('{"status":"ok"}');
          return true;
        case '/readyz': {
          const d = o.draining();
          res.writeHead(d ? 503 : 200, JSON_HEADERS).end(d ? '{"status":"draining"}' : '{"status":"ready"}');
          return true;
        }
        case '/metrics':
          return o.metrics.registry.metrics().then((text) => {
            res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(text);
            return true;
          });
        default:
          return false;
      }
    },
  };
}
