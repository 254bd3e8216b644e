// DASHBOARD_TOKEN: a bearer token for scripts, exchanged for an HttpOnly SameSite=Strict cookie for
// browsers (EventSource cannot send headers). The cookie holds an HMAC of the token, never the token,
// so changing the token logs every browser out.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'zai_dashboard_session';
const MAX_AGE_S = 30 * 86_400; // 30 days

const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export interface Auth {
  required: boolean;
  /** True when the request carries the token or a valid session cookie (always true without a token). */
  ok(req: IncomingMessage): boolean;
  /** True when `token` is the configured one (constant time). */
  tokenMatches(token: string): boolean;
  setCookie(secure: boolean): string;
  clearCookie(): string;
}

export function createAuth(token: string | undefined): Auth {
  if (token === undefined) {
    return {
      required: false,
      ok: () => true,
      tokenMatches: () => true,
      setCookie: () => '',
      clearCookie: () => '',
    };
  }
  const session = createHmac('sha256', token).update('zai-dashboard-session-v1').digest('base64url');
  return {
    required: true,
    ok(req) {
      const h = req.headers.authorization;
      if (typeof h === 'string' && h.startsWith('Bearer ') && same(h.slice(7).trim(), token)) return true;
      const c = readCookie(req.headers.cookie, COOKIE);
      return c !== undefined && same(c, session);
    },
    tokenMatches: (t) => same(t, token),
    setCookie: (secure) =>
      `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${MAX_AGE_S}${secure ? '; Secure' : ''}`,
    clearCookie: () => `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
  };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
