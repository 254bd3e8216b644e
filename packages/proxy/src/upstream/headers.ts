// Header hygiene between client, proxy and upstream: what crosses, what the proxy owns.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// Hop-by-hop (RFC 9110 §7.6.1) and headers the proxy sets itself; cookies never cross the proxy.
const NOT_FORWARDED_UP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'cookie',
  'authorization',
  'x-api-key',
  'accept-encoding',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
  'x-real-ip',
  // Credentials of other providers and gateways: the proxy sends Z.AI its own key, never a client's
  // second one (an Azure-style `api-key` would otherwise travel beside it).
  'api-key',
  'x-goog-api-key',
  'cookie2',
  'x-amz-security-token',
  'x-functions-key',
  'ocp-apim-subscription-key',
]);

/** Credential-shaped names not forwarded whatever their prefix: `*-token`, `*-api-key`, `*-secret`,
 *  `*-password`, `*-credential(s)`, `*-session-token`, `*-auth`. A deny-list, not an allow-list:
 *  `anthropic-beta`, `anthropic-version` and client session headers (`x-claude-code-session-id`)
 *  must reach Z.AI untouched. */
const CREDENTIAL_SHAPED = /(?:^|-)(?:token|api-?key|secret|password|credentials?|auth)$/;

/** A request header the proxy never forwards upstream. */
export function notForwardedUp(name: string): boolean {
  return NOT_FORWARDED_UP.has(name) || CREDENTIAL_SHAPED.test(name);
}

const NOT_FORWARDED_DOWN = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
  'x-request-id',
]);

/** Client headers as they go upstream, with the proxy's credential and request id. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  credential: [string, string] | null,
  requestId: string,
  bodyLength: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in incoming) {
    if (notForwardedUp(name)) continue;
    const v = incoming[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  if (credential !== null) out[credential[0]] = credential[1];
  // Bodies are observed for usage, so they must arrive uncompressed.
  out['accept-encoding'] = 'identity';
  out['x-request-id'] = requestId;
  if (bodyLength > 0) out['content-length'] = String(bodyLength);
  return out;
}

/** Upstream response headers as they go to the client. */
export function downstreamHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (NOT_FORWARDED_DOWN.has(name)) continue;
    const v = upstream[name];
    if (v !== undefined) out[name] = v;
  }
  out['x-request-id'] = requestId;
  return out;
}

/** The client's own credential (x-api-key or Bearer), for pass-through mode and proxy key checks. */
export function clientCredential(h: IncomingHttpHeaders): string | null {
  const key = h['x-api-key'];
  if (typeof key === 'string' && key.length > 0) return key;
  const auth = h.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    return auth.slice(7).trim();
  }
  return null;
}
