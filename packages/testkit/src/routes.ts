/** The paths the sim serves, which API family each belongs to, and how each authenticates. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Surface } from './error-envelopes.ts';
import type { RouteName } from './scenarios.ts';

export interface Route {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly surface: Surface;
  /**
   * Takes scenarios without route= from the enqueue() FIFO. The quota route does not: the proxy polls
   * it in the background, and it must not steal a failure queued for an inference request.
   */
  readonly takesUnpinned: boolean;
}

export const ROUTES: readonly Route[] = [
  {
    name: 'messages',
    method: 'POST',
    path: '/api/anthropic/v1/messages',
    surface: 'anthropic',
    takesUnpinned: true,
  },
  {
    name: 'count_tokens',
    method: 'POST',
    path: '/api/anthropic/v1/messages/count_tokens',
    surface: 'anthropic',
    takesUnpinned: true,
  },
  {
    name: 'chat_completions',
    method: 'POST',
    path: '/api/paas/v4/chat/completions',
    surface: 'openai',
    takesUnpinned: true,
  },
  { name: 'models', method: 'GET', path: '/api/paas/v4/models', surface: 'openai', takesUnpinned: true },
  {
    name: 'quota',
    method: 'GET',
    path: '/api/monitor/usage/quota/limit',
    surface: 'quota',
    takesUnpinned: false,
  },
];

const BY_KEY = new Map(ROUTES.map((r) => [`${r.method} ${r.path}`, r]));

/** The route for a method and path (query already stripped; one trailing slash tolerated). */
export function findRoute(method: string, path: string): Route | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return BY_KEY.get(`${method} ${p}`);
}

function bearer(auth: string | undefined): string | null {
  const m = auth === undefined ? null : /^Bearer\s+(\S.*)$/i.exec(auth.trim());
  return m ? m[1]! : null;
}

// Each surface accepts only its own scheme, like Z.AI: Anthropic wants x-api-key, OpenAI a Bearer
// token, the monitor API the raw key in Authorization (Bearer tolerated).
function presented(route: Route, headers: IncomingHttpHeaders): string | null {
  switch (route.surface) {
    case 'anthropic': {
      const key = headers['x-api-key'];
      return typeof key === 'string' && key !== '' ? key : null;
    }
    case 'openai':
      return bearer(headers.authorization);
    case 'quota': {
      const auth = headers.authorization?.trim();
      if (auth === undefined || auth === '') return null;
      return bearer(auth) ?? auth;
    }
  }
}

/** Whether the request carries an acceptable credential for the route. */
export function isAuthorized(
  route: Route,
  headers: IncomingHttpHeaders,
  apiKey: string | undefined,
): boolean {
  const key = presented(route, headers);
  return key !== null && (apiKey === undefined || key === apiKey);
}
