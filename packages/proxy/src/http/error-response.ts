// The one place a proxy error becomes a response: the envelope of the API the client called, the
// catalogue status, Retry-After when the error carries one, and the code and class recorded on the
// exchange for request metrics and logs.
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { ApiSurface } from '../routes/types.ts';

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
  if (x === null) {
    res.writeHead(e.status, h).end(body);
    return;
  }
  h['x-request-id'] = x.id;
  x.head(e.status, h);
  x.end(body);
}
