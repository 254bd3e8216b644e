// Operator endpoints under /admin/: POST /admin/reset-rate-limit (the Go proxy's, which also resets
// the concurrency limit now). Off unless ADMIN_TOKEN is set; then the caller must send it as a bearer
// token, compared in constant time. The Go proxy left this endpoint open to anyone who could reach it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import { anthropic } from '../routes/anthropic.ts';
import { writeError } from './error-response.ts';

export interface AdminRoutes {
  /** Answers `path` if it is an admin route; false when admin is off or the path is not one. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}

export interface AdminOptions {
  /** ADMIN_TOKEN; undefined turns admin off. */
  token: string | undefined;
  /** Resets the limiters; resolves to the response body. */
  resetRateLimit(): Promise<Record<string, unknown>>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function createAdminRoutes(o: AdminOptions): AdminRoutes {
  if (o.token === undefined) return { handle: () => false };
  const want = digest(o.token);
  const authorized = (req: IncomingMessage) => {
    const m = BEARER.exec(req.headers.authorization ?? '');
    // Equal-length digests: the comparison time says nothing about the token.
    return timingSafeEqual(digest(m?.[1] ?? ''), want) && m !== null;
  };
  return {
    handle(path, req, res) {
      if (path !== '/admin/reset-rate-limit') return false;
      if (!authorized(req)) {
        writeError(res, anthropic, new GatewayError('UNAUTHORIZED', 'missing or invalid admin token'), null);
        req.resume();
        return true;
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        writeError(res, anthropic, new GatewayError('METHOD_NOT_ALLOWED'), null);
        req.resume();
        return true;
      }
      req.resume();
      return o.resetRateLimit().then((body) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return true;
      });
    },
  };
}
