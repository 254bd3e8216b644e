// The proxy's closed error catalogue: each error it generates has a stable code, an HTTP status and
// a default message. Codes never change once shipped; branch on `code`, never on message text.

//
// `class` says whose side the failure is on, for request metrics and the access log:
// the client's request, the upstream, the proxy's own admission (pacing, quota, budget), or the proxy.
export type ErrorClass = 'client' | 'upstream' | 'admission' | 'proxy';

export const ERRORS = {
  ROUTE_NOT_FOUND: { status: 404, class: 'client', message: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, class: 'client', message: 'method not allowed on this route' },
  UNAUTHORIZED: { status: 401, class: 'client', message: 'missing or invalid proxy API key' },
  BODY_TOO_LARGE: { status: 413, class: 'client', message: 'request body exceeds MAX_REQUEST_BYTES' },
  INVALID_JSON: { status: 400, class: 'client', message: 'request body is not valid JSON' },
  UPSTREAM_UNREACHABLE: { status: 502, class: 'upstream', message: 'upstream connection failed' },
  UPSTREAM_TIMEOUT: { status: 504, class: 'upstream', message: 'upstream did not answer in time' },
  UPSTREAM_BAD_RESPONSE: {
    status: 502,
    class: 'upstream',
    message: 'upstream returned an empty or malformed response',
  },
  UPSTREAM_EMPTY_STREAM: {
    status: 502,
    class: 'upstream',
    message: 'upstream returned an empty streaming response',
  },
  PROXY_OVERLOADED: {
    status: 503,
    class: 'admission',
    message: 'too many requests inside the proxy (MAX_WORKERS); retry shortly',
  },
  QUEUE_FULL: {
    status: 503,
    class: 'admission',
    message: 'too many requests waiting in the proxy; retry shortly',
  },
  QUEUE_TIMEOUT: { status: 429, class: 'admission', message: 'request waited too long in the proxy queue' },
  QUOTA_EXHAUSTED: { status: 429, class: 'admission', message: 'the Z.AI quota window is spent' },
  BUDGET_EXCEEDED: { status: 429, class: 'admission', message: 'the spending budget is used up' },
  SHUTTING_DOWN: { status: 503, class: 'proxy', message: 'proxy is shutting down' },
  INTERNAL: { status: 500, class: 'proxy', message: 'internal proxy error' },
} as const satisfies Record<string, { status: number; class: ErrorClass; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error the proxy answers itself, in the envelope of the API the client called. */
export class GatewayError extends Error {
  readonly status: number;
  readonly class: ErrorClass;
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    readonly retryAfterSec: number | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = ERRORS[code].status;
    this.class = ERRORS[code].class;
  }
}
