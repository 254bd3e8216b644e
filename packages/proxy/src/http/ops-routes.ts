// The proxy's own endpoints: /health (composed from each module's section), /healthz, /readyz, /metrics.
import type { ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.ts';

/** A module's /health section, read on each request to /health. */
export type HealthSection = () => unknown;

export interface OpsRoutesOptions {
  metrics: Metrics;
  /** Sections by name; rendered in key order with `status`, `variant` and `version`. */
  sections: Readonly<Record<string, HealthSection>>;
  variant: string;
  version: string;
  draining(): boolean;
}

export interface OpsRoutes {
  /** Answers `path` if it is an ops route; false when it is not one. */
  handle(path: string, res: ServerResponse): boolean | Promise<boolean>;
  /** The /health document. */
  health(): Record<string, unknown>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

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
  return {
    health,
    handle(path, res) {
      switch (path) {
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
