// The Anthropic Messages surface: its routes, how it authenticates upstream, and its error envelope.
import type { ErrorCode, GatewayError } from '../errors.ts';
import type { ApiSurface } from './types.ts';

// Anthropic error `type` per proxy error code: a new code without a row here fails to compile.
const ANTHROPIC_TYPE: Record<ErrorCode, string> = {
  ROUTE_NOT_FOUND: 'not_found_error',
  METHOD_NOT_ALLOWED: 'invalid_request_error',
  UNAUTHORIZED: 'authentication_error',
  BODY_TOO_LARGE: 'request_too_large',
  INVALID_JSON: 'invalid_request_error',
  UPSTREAM_UNREACHABLE: 'api_error',
  UPSTREAM_TIMEOUT: 'api_error',
  UPSTREAM_BAD_RESPONSE: 'api_error',
  UPSTREAM_EMPTY_STREAM: 'api_error',
  PROXY_OVERLOADED: 'overloaded_error',
  QUEUE_FULL: 'overloaded_error',
  QUEUE_TIMEOUT: 'rate_limit_error',
  QUOTA_EXHAUSTED: 'rate_limit_error',
  BUDGET_EXCEEDED: 'rate_limit_error',
  SHUTTING_DOWN: 'overloaded_error',
  INTERNAL: 'api_error',
};

export const anthropic: ApiSurface = {
  family: 'anthropic',
  routes: [
    { method: 'POST', template: '/v1/messages', upstreamPath: '/v1/messages', kind: 'messages' },
    {
      method: 'POST',
      template: '/v1/messages/count_tokens',
      upstreamPath: '/v1/messages/count_tokens',
      kind: 'count_tokens',
    },
  ],
  // Clients configured with the original's documented base URL send these paths.
  aliasPrefixes: ['/api/anthropic'],
  credentialHeaders(key: string): [string, string] {
    // Z.AI's Anthropic endpoint reads x-api-key; a Bearer header there meets a WAF 404.
    return ['x-api-key', key];
  },
  errorBody(e: GatewayError): string {
    return JSON.stringify({ type: 'error', error: { type: ANTHROPIC_TYPE[e.code], message: e.message } });
  },
};
