// The route table: client paths (canonical and alias) → API surface, route kind and upstream URL.
// Built once at startup; a lookup is one Map get.
import type { Config } from '../config.ts';
import { anthropic } from './anthropic.ts';
import { openai } from './openai.ts';
import type { ApiFamily, ApiSurface, RouteKind, RouteSpec } from './types.ts';

export type { ApiFamily, ApiSurface, RouteKind, RouteSpec } from './types.ts';

export interface ResolvedRoute {
  readonly spec: RouteSpec;
  readonly surface: ApiSurface;
  readonly family: ApiFamily;
  readonly kind: RouteKind;
  /** `path` metric label: the canonical template. */
  readonly label: string;
  /** Upstream origin, e.g. https://api.z.ai */
  readonly origin: string;
  /** Upstream path, e.g. /api/anthropic/v1/messages (query appended per request). */
  readonly upstreamPath: string;
  /** Non-streaming 2xx bodies must be JSON; an empty or malformed one is retried. */
  readonly validateJson: boolean;
}

export interface RouteTable {
  /** Route for an exact path, or undefined. */
  match(path: string): ResolvedRoute | undefined;
  /** The API family a non-matching path most likely belongs to, for its 404 envelope. */
  familyOf(path: string): ApiSurface;
}

/** Joins a base URL and a path with exactly one slash between them: never a doubled prefix. */
export function joinUrl(base: string, path: string): { origin: string; path: string } {
  const u = new URL(base);
  const basePath = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, path: `${basePath}/${path.replace(/^\/+/, '')}` };
}

/** Builds the route table from the configured upstream base URLs. */
export function createRouteTable(cfg: Pick<Config, 'ZAI_TARGET_URL' | 'ZAI_OPENAI_TARGET_URL'>): RouteTable {
  const byPath = new Map<string, ResolvedRoute>();
  const add = (surface: ApiSurface, base: string) => {
    for (const spec of surface.routes) {
      const up = joinUrl(base, spec.upstreamPath);
      const route: ResolvedRoute = {
        spec,
        surface,
        family: surface.family,
        kind: spec.kind,
        label: spec.template,
        origin: up.origin,
        upstreamPath: up.path,
        validateJson: spec.kind !== 'models',
      };
      byPath.set(spec.template, route);
      for (const prefix of surface.aliasPrefixes) {
        // Anthropic clients keep the /v1 segment after the base URL; OpenAI clients do not.
        const suffix = surface.family === 'anthropic' ? spec.template : spec.template.replace(/^\/v1/, '');
        byPath.set(prefix + suffix, route);
      }
    }
  };
  add(anthropic, cfg.ZAI_TARGET_URL);
  add(openai, cfg.ZAI_OPENAI_TARGET_URL);
  return {
    match: (path) => byPath.get(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path),
    familyOf: (path) =>
      path.startsWith('/v1/chat') || path.startsWith('/v1/models') || path.startsWith('/api/paas')
        ? openai
        : anthropic,
  };
}
