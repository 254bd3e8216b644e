// The OpenAI Chat Completions surface: its routes, how it authenticates upstream, and its error envelope.
import type { ErrorCode, GatewayError } from '../errors.ts';
import type { ApiSurface } from './types.ts';

// OpenAI error `type` per proxy error code: a new code without a row here fails to compile.
const OPENAI_TYPE: Record<ErrorCode, string> = {
  ROUTE_NOT_FOUND: 'invalid_request_error',
  METHOD_NOT_ALLOWED: 'invalid_request_error',
  UNAUTHORIZED: 'authentication_error',
  BODY_TOO_LARGE: 'invalid_request_error',
  INVALID_JSON: 'invalid_request_error',
  UPSTREAM_UNREACHABLE: 'server_error',
  UPSTREAM_TIMEOUT: 'server_error',
  UPSTREAM_BAD_RESPONSE: 'server_error',
  UPSTREAM_EMPTY_STREAM: 'server_error',
  PROXY_OVERLOADED: 'server_error',
  QUEUE_FULL: 'server_error',
  QUEUE_TIMEOUT: 'rate_limit_error',
  QUOTA_EXHAUSTED: 'insufficient_quota',
  BUDGET_EXCEEDED: 'insufficient_quota',
  SHUTTING_DOWN: 'server_error',
  INTERNAL: 'server_error',
};

export const openai: ApiSurface = {
  family: 'openai',
  routes: [
    { method: 'POST', template: '/v1/chat/completions', upstreamPath: '/chat/completions', kind: 'chat' },
    { method: 'GET', template: '/v1/models', upstreamPath: '/models', kind: 'models' },
  ],
  // Z.AI's own OpenAI base URL is …/api/paas/v4, to which SDKs append /chat/completions directly.
  aliasPrefixes: ['/api/paas/v4'],
  credentialHeaders(key: string): [string, string] {
    return ['authorization', `Bearer ${key}`];
  },
  errorBody(e: GatewayError): string {
    return JSON.stringify({
      error: { message: e.message, type: OPENAI_TYPE[e.code], param: null, code: e.code.toLowerCase() },
    });
  },
};
