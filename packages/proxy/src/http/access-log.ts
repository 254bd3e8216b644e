// The access log: one line per finished request, written once its usage is final (a token estimate
// settles after the connection closes). Requests answered before they became an exchange (404,
// 405, the proxy's own 401, draining 503) get one too. The level follows the outcome (the table is in
// docs/logging.md); a line with usage keeps the `Token usage: …` message runbooks grep.
import type { IncomingMessage } from 'node:http';
import { clientBucket } from '../admission/client-buckets.ts';
import type { Config } from '../config.ts';
import type { GatewayError } from '../errors.ts';
import type { Exchange, SettledUsage } from '../exchange.ts';
import { type Logger, lineWriter } from '../log.ts';
import { ZAI_CLASSES, type ZaiErrorClass } from '../upstream/zai-classifier.ts';

export type AccessLevel = 'info' | 'warn' | 'error';

/** How a request ended, as the access line reports it. */
export interface AccessOutcome {
  status: number;
  /** Failure class: a proxy error's class, a Z.AI class, a transport failure kind, `client_closed`,
   *  `upstream_broken`, `shutdown_aborted`; null for a success. */
  class: string | null;
  code: string | null;
  /** The class is a Z.AI class (the error was Z.AI's, passed through). */
  zai: boolean;
}

const RANK: Readonly<Record<AccessLevel, number>> = { info: 0, warn: 1, error: 2 };

/** The level of an outcome: success and 4xx at info, final 429/529 at warn, 5xx and broken streams
 *  at error. A client that left is its own choice: info. A Z.AI refusal that needs a person raises
 *  it to its class's level (billing, fair use: error; quota, permission, auth: warn). */
export function accessLevel(o: AccessOutcome): AccessLevel {
  if (o.class === 'upstream_broken') return 'error';
  if (o.class === 'client_closed') return 'info';
  if (o.class === 'shutdown_aborted') return 'warn';
  let level: AccessLevel = 'info';
  if (o.status === 429 || o.status === 529) level = 'warn';
  else if (o.status >= 500) level = 'error';
  if (o.zai) {
    const byClass = ZAI_CLASSES[o.class as ZaiErrorClass]?.logLevel ?? 'info';
    if (RANK[byClass] > RANK[level]) level = byClass;
  }
  return level;
}

/** What the message adds for a Z.AI refusal that needs a person (the class's level says so). */
function refusalNote(o: AccessOutcome): string | undefined {
  if (!o.zai) return undefined;
  const byClass = ZAI_CLASSES[o.class as ZaiErrorClass]?.logLevel;
  if (byClass === 'error') return 'Z.AI refuses this account until a person acts';
  if (byClass === 'warn') return 'Z.AI refused the request, not retried';
  return undefined;
}

export interface AccessLog {
  /** An exchange ended (response finished or connection gone); `aborting` = the drain timeout broke it. */
  exchange(x: Exchange, endNs: bigint, aborting: boolean, u: SettledUsage | null): void;
  /** A request answered before it became an exchange. */
  rejected(req: IncomingMessage, id: string, route: string, e: GatewayError, startNs: bigint): void;
}

const noop: AccessLog = { exchange: () => {}, rejected: () => {} };

const ms = (ns: bigint) => Math.round(Number(ns) / 1e4) / 100; // 2 decimals

export function createAccessLog(
  log: Logger,
  cfg: Pick<Config, 'ACCESS_LOG' | 'ZAI_API_KEY' | 'ZAI_OPENAI_TARGET_URL'>,
): AccessLog {
  if (!cfg.ACCESS_LOG) return noop;
  const passThrough = cfg.ZAI_API_KEY === undefined;
  const generalOpenAi = !cfg.ZAI_OPENAI_TARGET_URL.includes('/coding/');
  const write = lineWriter(log);

  /** What the operator should try, where the mistake is a known one. */
  function hint(x: Exchange | null, o: AccessOutcome): string | undefined {
    if (o.code === 'UNAUTHORIZED') return 'the client presented none of the PROXY_API_KEYS keys';
    if (x === null) return undefined;
    if (o.code === '1113' && x.route.family === 'openai' && generalOpenAi)
      return 'coding-plan keys need ZAI_OPENAI_TARGET_URL=https://api.z.ai/api/coding/paas/v4';
    if (o.class === 'auth' && o.zai)
      return passThrough
        ? "pass-through mode: the client's own key was forwarded to Z.AI and refused (set ZAI_API_KEY, or give the client a Z.AI key)"
        : 'Z.AI refused ZAI_API_KEY';
    if (o.zai && o.status === 404)
      return x.route.family === 'anthropic'
        ? `upstream has no ${x.route.upstreamPath}: ZAI_TARGET_URL should end in /api/anthropic`
        : `upstream has no ${x.route.upstreamPath}: ZAI_OPENAI_TARGET_URL should end in /api/paas/v4 (or /api/coding/paas/v4)`;
    return undefined;
  }

  function outcome(x: Exchange, aborting: boolean): AccessOutcome {
    if (x.brokenByProxy) return { status: x.status, class: 'upstream_broken', code: null, zai: false };
    if (x.clientGone) {
      const status = x.committed ? x.status : 499;
      return { status, class: aborting ? 'shutdown_aborted' : 'client_closed', code: null, zai: false };
    }
    const e = x.error;
    if (e === null) return { status: x.status, class: null, code: null, zai: false };
    // A transport failure is reported by its kind (timeout, network…), the proxy code beside it.
    return { status: x.status, class: x.failure?.kind ?? e.class, code: e.code, zai: e.zai };
  }

  function logLine(
    level: AccessLevel,
    fields: Record<string, unknown>,
    o: AccessOutcome,
    head: string,
  ): void {
    let msg = head;
    if (o.class !== null) msg += ` ${o.class}${o.code === null ? '' : ` ${o.code}`}`;
    const note = refusalNote(o);
    if (note !== undefined) msg += `: ${note}`;
    const h = fields.hint;
    if (h !== undefined) msg += `${note === undefined ? ':' : ';'} ${h as string}`;
    write(level, fields, msg);
  }

  return {
    exchange(x, endNs, aborting, u) {
      const o = outcome(x, aborting);
      const level = accessLevel(o);
      if (!log.isLevelEnabled(level)) return;
      const t = x.timing;
      const fields: Record<string, unknown> = {
        log: 'access',
        requestId: x.id,
        method: x.route.spec.method,
        route: x.route.label,
        status: o.status,
        durationMs: ms(endNs - t.arrived),
        ttfbMs: t.firstByte === 0n ? undefined : ms(t.firstByte - t.arrived),
        attempts: x.attempts,
        model: u?.model ?? x.model ?? undefined,
        requestedModel: x.requestedModel ?? undefined, // set only where model routing changed it
        client: clientBucket(x.client),
        stream: x.stream,
        bytesOut: x.bytesOut,
        class: o.class ?? undefined,
        code: o.code ?? undefined,
        resetAtMs: x.error?.resetAtMs ?? undefined,
        err: x.failure?.message ?? undefined,
        hint: hint(x, o),
      };
      if (u === null) {
        logLine(level, fields, o, `${x.route.spec.method} ${x.route.label} ${o.status}`);
        return;
      }
      fields.source = u.source;
      fields.input = u.input;
      fields.output = u.output;
      fields.cache_read = u.cache_read;
      fields.cache_write = u.cache_write;
      fields.costUsd = u.costUsd;
      logLine(
        level,
        fields,
        o,
        `Token usage${u.source === 'estimate' ? ' (estimated)' : ''}: input=${u.input}, output=${u.output}, cache_read=${u.cache_read}, cache_write=${u.cache_write}`,
      );
    },
    rejected(req, id, route, e, startNs) {
      const o: AccessOutcome = { status: e.status, class: e.class, code: e.code, zai: false };
      const level = accessLevel(o);
      if (!log.isLevelEnabled(level)) return;
      const method = req.method ?? 'GET';
      const fields: Record<string, unknown> = {
        log: 'access',
        requestId: id,
        method,
        route,
        status: e.status,
        durationMs: ms(process.hrtime.bigint() - startNs),
        attempts: 0,
        class: e.class,
        code: e.code,
        hint: hint(null, o),
      };
      logLine(level, fields, o, `${method} ${route} ${e.status}`);
    },
  };
}
