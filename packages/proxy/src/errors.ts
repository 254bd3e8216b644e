// The proxy's closed error catalogue: each error it generates has a stable code, an HTTP status and
// a default message. Codes never change once shipped; branch on `code`, never on message text.

export const ERRORS = {
  ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  UNAUTHORIZED: { status: 401, message: 'missing or invalid proxy API key' },
  BODY_TOO_LARGE: { status: 413, message: 'request body exceeds MAX_REQUEST_BYTES' },
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  UPSTREAM_UNREACHABLE: { status: 502, message: 'upstream connection failed' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'upstream did not answer in time' },
  UPSTREAM_BAD_RESPONSE: { status: 502, message: 'upstream returned an empty or malformed response' },
  UPSTREAM_EMPTY_STREAM: { status: 502, message: 'upstream returned an empty streaming response' },
  SHUTTING_DOWN: { status: 503, message: 'proxy is shutting down' },
  INTERNAL: { status: 500, message: 'internal proxy error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error the proxy answers itself, in the envelope of the API the client called. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    readonly retryAfterSec: number | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = ERRORS[code].status;
  }
}
