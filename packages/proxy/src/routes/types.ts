// Shapes shared by the API surfaces (routes/anthropic.ts, routes/openai.ts) and the route table.
import type { GatewayError } from '../errors.ts';

export type ApiFamily = 'anthropic' | 'openai';
/** What a route does; decides body parsing, validation and usage handling. */
export type RouteKind = 'messages' | 'count_tokens' | 'chat' | 'models';

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Canonical client path; also the `path` metric label. */
  template: string;
  /** Path below the surface's upstream base URL. */
  upstreamPath: string;
  kind: RouteKind;
}

export interface ApiSurface {
  family: ApiFamily;
  routes: RouteSpec[];
  aliasPrefixes: string[];
  /** The upstream credential header for a key. */
  credentialHeaders(key: string): [string, string];
  /** A proxy-generated error in this API's envelope. */
  errorBody(e: GatewayError): string;
}
