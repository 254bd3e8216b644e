// The attempt loop: admission → upstream attempt → classify → retry policy → (wait) → again,
// until a response is committed to the client or a final error is written.

import type { Admission, UpstreamSignals } from '../admission/index.ts';
import { type ErrorCode, GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { Attempt, type AttemptOutcome, type FailureKind } from './attempt.ts';
import type { UpstreamClient } from './client.ts';
import { downstreamHeaders, upstreamHeaders } from './headers.ts';
import { retryAfterFromHeaders } from './retry-after.ts';
import { decideRetry } from './retry-policy.ts';
import {
  classifyZaiError,
  codeLabel,
  DEFAULT_ZAI_ERROR_BODY_BYTES,
  withHeaderReset,
  ZAI_CLASSES,
  type ZaiError,
} from './zai-classifier.ts';

/** Clock, sleep and randomness, injectable so tests never wait for real back-offs. */
export interface Timers {
  now(): number;
  /** Resolves after ms, rejects when signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
}

export interface ForwardDeps {
  client: UpstreamClient;
  admission: Admission;
  signals: UpstreamSignals;
  metrics: Metrics;
  log: Logger;
  timers: Timers;
  maxRetries: number;
  maxRetryWaitMs: number;
  maxResponseBuffer: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  /** Upstream credential header for this request, or null to send none. */
  credential(x: Exchange): [string, string] | null;
  /** Writes a proxy-generated error in the client's API envelope. */
  sendError(x: Exchange, e: GatewayError): void;
  /** A local input-token estimate for count_tokens, or null when counting is off. */
  countTokensLocally(x: Exchange): Promise<number> | null;
}

/** The proxy's own answer when a failure is not retried (HTTP statuses pass through instead). */
const FAILURE_ERROR: Record<FailureKind, ErrorCode> = {
  status: 'UPSTREAM_BAD_RESPONSE',
  network: 'UPSTREAM_UNREACHABLE',
  timeout: 'UPSTREAM_TIMEOUT',
  truncated_response: 'UPSTREAM_BAD_RESPONSE',
  empty_streaming: 'UPSTREAM_EMPTY_STREAM',
};
const FAILURE_METRIC: Record<string, string> = {
  network: 'upstream_connection',
  timeout: 'timeout',
  truncated_response: 'truncated_response',
  empty_streaming: 'empty_streaming',
};
/** A 429 body is replayed up to the classifier's budget, as the original did. */
const RATE_LIMIT_REPLAY_BYTES = DEFAULT_ZAI_ERROR_BODY_BYTES;

/** Forwards one exchange upstream with retries; resolves when the client has its answer (or left). */
export async function forward(x: Exchange, d: ForwardDeps): Promise<void> {
  const m = d.metrics;
  const v = m.variant;
  const headers = upstreamHeaders(x.req.headers, d.credential(x), x.id, x.body.length);
  const q = x.req.url!.indexOf('?');
  const path = q === -1 ? x.route.upstreamPath : x.route.upstreamPath + x.req.url!.slice(q);

  for (let attempt = 0; ; attempt++) {
    let release: (() => void) | null = null;
    const tAdmit = process.hrtime.bigint();
    try {
      release = await d.admission.acquire(x, x.abort.signal);
    } catch {
      return; // the client left while queued: nothing to write
    }
    x.waitNs += process.hrtime.bigint() - tAdmit;
    if (x.clientGone) {
      release();
      return;
    }
    if (attempt > 0) m.retryAttempts.labels('retry', v).inc();

    let attemptHandler: Attempt | null = null;
    const onDrain = () => attemptHandler?.resumeIfPaused();
    x.res.on('drain', onDrain);
    const outcome = await new Promise<AttemptOutcome>((resolve) => {
      const a = new Attempt(
        x,
        d.maxResponseBuffer,
        resolve,
        (t) => m.upstreamErrors.labels(t, v).inc(),
        (err) =>
          d.log.warn(
            { requestId: x.id, code: (err as { code?: string }).code, bytesSent: x.bytesOut },
            'Upstream broke mid-response; breaking the client connection',
          ),
      );
      attemptHandler = a;
      d.client.dispatch(
        {
          origin: x.route.origin,
          path,
          method: x.route.spec.method,
          headers,
          body: x.body.length > 0 ? x.body : null,
          headersTimeout: d.headersTimeoutMs,
          bodyTimeout: d.idleTimeoutMs,
        },
        a,
      );
    });
    x.res.off('drain', onDrain);
    release();

    if (outcome.type === 'committed') {
      if (x.status >= 200 && x.status < 300) d.signals.publish({ type: 'success' });
      return;
    }
    if (x.clientGone) return;

    if (
      outcome.kind === 'status' &&
      x.route.kind === 'count_tokens' &&
      COUNT_TOKENS_UNSUPPORTED.has(outcome.status)
    ) {
      // Z.AI lacks the endpoint: an expected answer, not an upstream error to alert on.
      const local = d.countTokensLocally(x);
      if (local !== null) {
        await answerCountTokens(x, local);
        return;
      }
    }

    const now = d.timers.now();
    const headerRetryAfterMs = outcome.kind === 'status' ? retryAfterFromHeaders(outcome.headers, now) : null;
    let zai: ZaiError | undefined;
    if (outcome.kind === 'status') {
      m.upstreamErrors.labels(String(outcome.status), v).inc();
      zai = withHeaderReset(classifyZaiError(outcome.status, outcome.body), headerRetryAfterMs, now);
      if (zai.code !== null || outcome.status === 429 || outcome.status === 529) {
        m.zaiErrors.labels(zai.class, codeLabel(zai.code), v).inc();
      }
    } else {
      m.upstreamErrors.labels(FAILURE_METRIC[outcome.kind]!, v).inc();
    }

    const decision = decideRetry({
      kind: outcome.kind,
      status: outcome.status,
      zai,
      headerRetryAfterMs,
      attempt,
      maxRetries: d.maxRetries,
      maxRetryWaitMs: d.maxRetryWaitMs,
      nowMs: now,
      random: d.timers.random,
    });
    if (zai !== undefined) {
      d.signals.publish({
        type: 'zai_error',
        status: outcome.status,
        class: zai.class,
        code: zai.code,
        resetAtMs: zai.resetAtMs,
        feedRateLimiter: decision.feedRateLimiter,
      });
    }

    if (!decision.retry) {
      if (zai !== undefined) logRefusal(x, d, zai);
      writeFailure(x, d, outcome, zai, decision.clientRetryAfterSec);
      return;
    }
    m.retryAttempts.labels(decision.reason!, v).inc();
    if (zai !== undefined && (outcome.status === 429 || outcome.status === 529)) {
      d.log.info(
        {
          requestId: x.id,
          class: zai.class,
          code: zai.code,
          attempt: attempt + 1,
          delayMs: decision.delayMs,
        },
        `${outcome.status} ${zai.class} (code ${zai.code ?? 'none'}), retrying (attempt ${attempt + 1}/${d.maxRetries + 1}) after ${fmtDelay(decision.delayMs)}`,
      );
    }
    d.log.info(
      { requestId: x.id, reason: decision.reason, delayMs: decision.delayMs },
      `Retry attempt ${attempt + 1}/${d.maxRetries + 1} after ${fmtDelay(decision.delayMs)}`,
    );
    const tWait = process.hrtime.bigint();
    try {
      await d.timers.sleep(decision.delayMs, x.abort.signal);
    } catch {
      d.log.info({ requestId: x.id }, 'Client abandoned request during retry wait');
      return;
    }
    x.waitNs += process.hrtime.bigint() - tWait;
    if (x.clientGone) return;
  }
}

/** Statuses meaning the upstream does not implement count_tokens (Claude Code calls it every turn). */
const COUNT_TOKENS_UNSUPPORTED = new Set([404, 405, 501]);

/** Answers count_tokens with the local cl100k estimate, marked as such. */
async function answerCountTokens(x: Exchange, count: Promise<number>): Promise<void> {
  const n = await count;
  if (x.clientGone) return;
  const body = `{"input_tokens":${n}}`;
  x.status = 200;
  x.committed = true;
  x.bytesOut += body.length;
  x.res
    .writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-request-id': x.id,
      'x-token-input': String(n),
      'x-token-source': 'estimate',
    })
    .end(body);
}

/** A refusal a person must see (fair use, billing: error; quota, permission, auth: warn). */
function logRefusal(x: Exchange, d: ForwardDeps, zai: ZaiError): void {
  const level = ZAI_CLASSES[zai.class].logLevel;
  if (level === 'info') return;
  const fields = { requestId: x.id, class: zai.class, code: zai.code, resetAtMs: zai.resetAtMs };
  if (level === 'error') {
    d.log.error(
      fields,
      `Z.AI refuses this account until a person acts: ${zai.class} (code ${zai.code ?? 'none'})`,
    );
  } else {
    d.log.warn(fields, `Z.AI refused the request: ${zai.class} (code ${zai.code ?? 'none'}), not retried`);
  }
}

/** The final answer after a failed attempt that is not retried. */
function writeFailure(
  x: Exchange,
  d: ForwardDeps,
  o: AttemptOutcome & { type: 'failure' },
  zai: ZaiError | undefined,
  clientRetryAfterSec: number | null,
): void {
  if (o.kind !== 'status' || zai === undefined) {
    d.log.warn(
      { requestId: x.id, kind: o.kind, err: o.error?.message },
      'Upstream attempt failed, giving up',
    );
    d.sendError(x, new GatewayError(FAILURE_ERROR[o.kind]));
    return;
  }
  const h = downstreamHeaders(o.headers, x.id);
  let body = o.body;
  if (o.status === 429 || o.status === 529 || zai.code !== null) {
    h['x-zai-error-class'] = zai.class;
    if (zai.code !== null) h['x-zai-error-code'] = zai.code;
    if (zai.resetAtMs !== null) h['x-zai-rate-limit-reset'] = rfc3339(zai.resetAtMs);
    if (h['retry-after'] === undefined && clientRetryAfterSec !== null)
      h['retry-after'] = String(clientRetryAfterSec);
    if (o.status === 429 && body.length > RATE_LIMIT_REPLAY_BYTES)
      body = body.subarray(0, RATE_LIMIT_REPLAY_BYTES);
  }
  h['content-length'] = body.length;
  x.status = o.status;
  x.committed = true;
  x.res.writeHead(o.status, h);
  x.bytesOut += body.length;
  x.res.end(body);
}

/** RFC 3339 UTC with second precision, as the original's headers and /health. */
export function rfc3339(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function fmtDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
