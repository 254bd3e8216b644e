// The one place a proxy error becomes a response: the envelope of the API the client called, the
// catalogue status, x-should-retry by class (with Retry-After when a retry can help), and the code and class recorded on the
// exchange for request metrics and logs.
import type { ServerResponse } from 'node:http';
import { clientMayRetry, type ErrorCode, type GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { ApiSurface } from '../routes/types.ts';

// Headers some answers add beside x-should-retry (which errors.ts decides by class).
const EXTRA_HEADERS: Partial<Record<ErrorCode, Readonly<Record<string, string>>>> = {
  QUOTA_EXHAUSTED: { 'x-zai-error-class': 'quota' },
};

/** Writes `e` in the surface's envelope; on a response already started, breaks the connection. */
export function writeError(
  res: ServerResponse,
  surface: ApiSurface,
  e: GatewayError,
  x: Exchange | null,
): void {
  if (x !== null) x.error = { code: e.code, class: e.class, zai: false, resetAtMs: null };
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = surface.errorBody(e);
  const h: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  const retry = clientMayRetry(e.code);
  if (retry !== null) h['x-should-retry'] = String(retry);
  if (e.retryAfterSec !== null) h['retry-after'] = String(e.retryAfterSec);
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
