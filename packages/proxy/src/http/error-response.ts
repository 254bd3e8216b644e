// The one place a proxy error becomes a response: the envelope of the API the client called, the
// catalogue status, Retry-After when the error carries one, and the code and class recorded on the
// exchange for request metrics and logs.
import type { ServerResponse } from 'node:http';
import type { ErrorCode, GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { ApiSurface } from '../routes/types.ts';

// Refusals of a busy proxy: the SDKs retry these when told to (x-should-retry), after Retry-After.
const SHOULD_RETRY: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'PROXY_OVERLOADED',
  'QUEUE_FULL',
  'QUEUE_TIMEOUT',
]);
// Headers some answers add. A spent quota window lasts hours: `x-should-retry: false` makes Claude
// Code and the Stainless SDKs (which honour it over their own retry rules) stop at once.
const EXTRA_HEADERS: Partial<Record<ErrorCode, Readonly<Record<string, string>>>> = {
  QUOTA_EXHAUSTED: { 'x-zai-error-class': 'quota', 'x-should-retry': 'false' },
};

/** Writes `e` in the surface's envelope; on a response already started, breaks the connection. */
export function writeError(
  res: ServerResponse,
  surface: ApiSurface,
  e: GatewayError,
  x: Exchange | null,
): void {
  if (x !== null) x.error = { code: e.code, class: e.class };
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = surface.errorBody(e);
  const h: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (e.retryAfterSec !== null) h['retry-after'] = String(e.retryAfterSec);
  if (SHOULD_RETRY.has(e.code)) h['x-should-retry'] = 'true';
  const extra = EXTRA_HEADERS[e.code];
  if (extra !== undefined) Object.assign(h, extra);
  if (x === null) {
    res.writeHead(e.status, h).end(body);
    return;
  }
  h['x-request-id'] = x.id;
  x.head(e.status, h);
  x.end(body);
}
