// The attempt loop: admission → upstream attempt → classify → retry policy → (wait) → again,
// until a response is committed to the client or a final error is thrown for the error writer.
import type { Admission, AdmissionRequest, Permit, PermitOutcome } from '../admission/index.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { Attempt, type AttemptOutcome } from './attempt.ts';
import type { UpstreamClient } from './client.ts';
import { FAILURES, isThrottlingStatus } from './failures.ts';
import { downstreamHeaders, upstreamHeaders } from './headers.ts';
import type { KeepaliveOptions } from './keepalive.ts';
import { retryAfterFromHeaders } from './retry-after.ts';
import { decideRetry } from './retry-policy.ts';
import type { UpstreamSignals } from './signals.ts';
import {
  classifyZaiError,
  codeLabel,
  DEFAULT_ZAI_ERROR_BODY_BYTES,
  withHeaderReset,
  ZAI_CLASSES,
  type ZaiError,
} from './zai-classifier.ts';

export interface ForwardDeps {
  client: UpstreamClient;
  admission: Admission;
  signals: UpstreamSignals;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  maxRetries: number;
  maxRetryWaitMs: number;
  maxResponseBuffer: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  /** Keepalives on committed SSE streams while upstream is silent. */
  keepalive: KeepaliveOptions;
  /** Upstream credential header for this request, or null to send none. */
  credential(x: Exchange): [string, string] | null;
}

/** A route's own answer to an upstream error status, before it counts as an upstream error: the
 *  promise of that answer, or null to let the status take its normal course. */
export type StatusFallback = (x: Exchange, status: number) => Promise<void> | null;

/** A 429 body is replayed up to the classifier's budget, as the Go proxy did. */
const RATE_LIMIT_REPLAY_BYTES = DEFAULT_ZAI_ERROR_BODY_BYTES;

/** Forwards one exchange upstream with retries; resolves when the client has its answer (or left),
 *  throws a GatewayError for the error writer when the proxy must answer itself. */
export async function forward(x: Exchange, d: ForwardDeps, fallback?: StatusFallback): Promise<void> {
  const m = d.metrics;
  const v = m.variant;
  const headers = upstreamHeaders(x.req.headers, d.credential(x), x.id, x.body.length);
  const q = x.req.url!.indexOf('?');
  const path = q === -1 ? x.route.upstreamPath : x.route.upstreamPath + x.req.url!.slice(q);

  // `attempt` counts every upstream attempt; `retries` only those the retry policy scheduled: a 1302
  // requeued by admission is not one of MAX_RETRIES.
  let retries = 0;
  let requeued = false;
  for (let attempt = 0; ; attempt++) {
    const tAdmit = process.hrtime.bigint();
    let permit: Permit;
    try {
      permit = await d.admission.acquire(admissionRequest(x, attempt), x.abort.signal);
    } catch (err) {
      if (x.abort.signal.aborted) return; // the client left while queued: nothing to write
      throw err; // a GatewayError (queue full, quota…) becomes the client's answer; else INTERNAL
    }
    x.timing.waitNs += process.hrtime.bigint() - tAdmit;
    if (x.clientGone) {
      permit.release(CANCELLED, 0);
      return;
    }
    if (attempt > 0 && !requeued) m.retryAttempts.labels('retry', v).inc();
    requeued = false;
    x.attempts = retries + 1;

    let attemptHandler: Attempt | null = null;
    const onDrain = () => attemptHandler?.resumeIfPaused();
    x.res.on('drain', onDrain);
    const tStart = performance.now();
    const outcome = await new Promise<AttemptOutcome>((resolve) => {
      const a = new Attempt(
        x,
        d.maxResponseBuffer,
        resolve,
        (t) => m.upstreamErrors.labels(t, v).inc(),
        // The access line reports it (class upstream_broken, at error).
        (err) => {
          x.failure = { kind: 'upstream_broken', message: errorText(err) };
        },
        d.keepalive,
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
    const latencyMs = performance.now() - tStart;
    x.res.off('drain', onDrain);

    if (outcome.type === 'committed') {
      permit.release(committedOutcome(x), latencyMs);
      if (x.status >= 200 && x.status < 300) d.signals.publish({ type: 'success' });
      return;
    }
    if (x.clientGone) {
      permit.release(CANCELLED, latencyMs);
      return;
    }

    if (outcome.kind === 'status' && fallback !== undefined) {
      const answer = fallback(x, outcome.status);
      if (answer !== null) {
        permit.release(OK, latencyMs); // upstream answered, only not with what the route needs
        await answer;
        return;
      }
    }

    const now = d.clock.now();
    const headerRetryAfterMs = outcome.kind === 'status' ? retryAfterFromHeaders(outcome.headers, now) : null;
    let zai: ZaiError | undefined;
    if (outcome.kind === 'status') {
      m.upstreamErrors.labels(String(outcome.status), v).inc();
      zai = withHeaderReset(classifyZaiError(outcome.status, outcome.body), headerRetryAfterMs, now);
      if (zai.code !== null || isThrottlingStatus(outcome.status)) {
        m.zaiErrors.labels(zai.class, codeLabel(zai.code), v).inc();
      }
    } else {
      m.upstreamErrors.labels(FAILURES[outcome.kind].metric, v).inc();
    }
    permit.release(failedOutcome(outcome, zai), latencyMs);

    if (
      zai?.class === 'concurrency' &&
      d.admission.requeuesConcurrency === true &&
      isThrottlingStatus(outcome.status)
    ) {
      // Z.AI's account is full: admission has cut its limit and puts this attempt back at the head of
      // its queue, within the request's wait budget. No back-off, no retry spent.
      d.signals.publish({
        type: 'zai_error',
        status: outcome.status,
        class: zai.class,
        code: zai.code,
        resetAtMs: zai.resetAtMs,
        client: x.client,
        feedRateLimiter: false,
      });
      d.log.debug(
        { requestId: x.id, attempt: attempt + 1 },
        '1302 concurrency: requeued for the next free slot',
      );
      requeued = true;
      continue;
    }

    const decision = decideRetry({
      kind: outcome.kind,
      status: outcome.status,
      zai,
      headerRetryAfterMs,
      attempt: retries,
      maxRetries: d.maxRetries,
      maxRetryWaitMs: d.maxRetryWaitMs,
      nowMs: now,
      random: d.clock.random,
    });
    if (zai !== undefined) {
      d.signals.publish({
        type: 'zai_error',
        status: outcome.status,
        class: zai.class,
        code: zai.code,
        resetAtMs: zai.resetAtMs,
        quotaWindow: zai.quotaWindow,
        client: x.client,
        feedRateLimiter: decision.feedRateLimiter,
      });
    }

    if (!decision.retry) {
      if (outcome.kind !== 'status' || zai === undefined) {
        // The access line reports the kind and the error text.
        x.failure = { kind: outcome.kind, message: outcome.error === null ? null : errorText(outcome.error) };
        throw new GatewayError(FAILURES[outcome.kind].error);
      }
      passThrough(x, outcome, zai, decision.clientRetryAfterSec);
      return;
    }
    m.retryAttempts.labels(decision.reason!, v).inc();
    retries++;
    // One line per retry; `attempt N of M` counts attempts as the access line's `attempts` does (the
    // first is 1, M = MAX_RETRIES + 1; a 1302 requeued by admission is not one of them).
    const what =
      zai !== undefined
        ? `${outcome.status} ${zai.class} (code ${zai.code ?? 'none'})`
        : (decision.reason ?? outcome.kind);
    d.log.info(
      {
        requestId: x.id,
        reason: decision.reason,
        class: zai?.class,
        code: zai?.code ?? undefined,
        attempt: retries + 1,
        of: d.maxRetries + 1,
        delayMs: decision.delayMs,
      },
      `Retrying after ${what}: attempt ${retries + 1} of ${d.maxRetries + 1} in ${fmtDelay(decision.delayMs)}`,
    );
    const tWait = process.hrtime.bigint();
    try {
      await d.clock.sleep(decision.delayMs, x.abort.signal);
    } catch {
      return; // the client left during the wait: its access line says client_closed
    }
    x.timing.waitNs += process.hrtime.bigint() - tWait;
    if (x.clientGone) return;
  }
}

const OK: PermitOutcome = { type: 'ok' };
const FAILED: PermitOutcome = { type: 'failed' };
const CANCELLED: PermitOutcome = { type: 'cancelled' };

function admissionRequest(x: Exchange, attempt: number): AdmissionRequest {
  return {
    client: x.client,
    api: x.route.family,
    route: x.route.kind,
    model: x.model,
    stream: x.stream,
    attempt,
  };
}

function committedOutcome(x: Exchange): PermitOutcome {
  if (x.clientGone && !x.brokenByProxy) return CANCELLED;
  return x.brokenByProxy || x.status >= 500 ? FAILED : OK;
}

function failedOutcome(o: AttemptOutcome & { type: 'failure' }, zai: ZaiError | undefined): PermitOutcome {
  if (o.kind !== 'status' || zai === undefined) return FAILED;
  if (isThrottlingStatus(o.status)) return { type: 'throttled', zaiClass: zai.class };
  return o.status >= 500 ? FAILED : OK;
}

/** Upstream's error answer, passed through with what the proxy understood from it. */
function passThrough(
  x: Exchange,
  o: AttemptOutcome & { type: 'failure' },
  zai: ZaiError,
  clientRetryAfterSec: number | null,
): void {
  const h = downstreamHeaders(o.headers, x.id);
  let body = o.body;
  if (isThrottlingStatus(o.status) || zai.code !== null) {
    h['x-zai-error-class'] = zai.class;
    if (zai.code !== null) h['x-zai-error-code'] = zai.code;
    if (zai.resetAtMs !== null) h['x-zai-rate-limit-reset'] = rfc3339(zai.resetAtMs);
    if (h['retry-after'] === undefined && clientRetryAfterSec !== null)
      h['retry-after'] = String(clientRetryAfterSec);
    if (o.status === 429 && body.length > RATE_LIMIT_REPLAY_BYTES)
      body = body.subarray(0, RATE_LIMIT_REPLAY_BYTES);
  }
  const retry = zaiClientMayRetry(zai.class, o.status);
  if (retry !== null) h['x-should-retry'] = String(retry);
  h['content-length'] = body.length;
  x.error = { code: zai.code, class: zai.class, zai: true, resetAtMs: zai.resetAtMs };
  x.head(o.status, h);
  x.end(body);
}

/** Whether a client retry can help with a Z.AI error, for `x-should-retry`: the class's
 *  `clientMayRetry` (quota, billing, auth… need a person or hours; pressure and overload pass).
 *  An unclassified error is rate pressure only as a 429/529; otherwise (a bare 400 or 500) say
 *  nothing and leave it to the client's own rules. */
export function zaiClientMayRetry(cls: ZaiError['class'], status: number): boolean | null {
  if (cls === 'unknown') return isThrottlingStatus(status) ? true : null;
  return ZAI_CLASSES[cls].clientMayRetry;
}

function errorText(err: Error): string {
  const code = (err as { code?: string }).code;
  return code === undefined ? err.message : `${code}: ${err.message}`;
}

/** RFC 3339 UTC with second precision, as the Go proxy's headers and /health wrote it. */
export function rfc3339(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function fmtDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
