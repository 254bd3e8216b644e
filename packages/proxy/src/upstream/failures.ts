// How an upstream attempt can fail, in one table: the proxy's own answer when the failure is final,
// the `error_type` label of zai_proxy_upstream_errors_total, and the retry reason when it is retried.
import type { ErrorCode } from '../errors.ts';

/** How an attempt failed: an HTTP error status, or a transport/validation failure. */
export type FailureKind = 'status' | 'network' | 'truncated_response' | 'empty_streaming' | 'timeout';

/** `reason` label of zai_proxy_retry_attempts_total for a scheduled retry. */
export type RetryReason = '429' | 'network_error' | 'truncated_response' | 'empty_streaming' | 'overloaded';

interface FailureRow {
  /** The proxy's answer when this failure is final (a 'status' failure passes upstream's answer through instead). */
  error: ErrorCode;
  /** `error_type` label; a 'status' failure is labelled with the status itself. */
  metric: string;
  /** Retry reason on the plain back-off curve; null when the kind is never retried that way. */
  retry: RetryReason | null;
}

export const FAILURES: Readonly<Record<FailureKind, FailureRow>> = {
  status: { error: 'UPSTREAM_BAD_RESPONSE', metric: 'status', retry: null }, // by status and class instead
  // No response byte arrived (refused/reset before headers), so upstream never started the work.
  network: { error: 'UPSTREAM_UNREACHABLE', metric: 'upstream_connection', retry: 'network_error' },
  // The request reached upstream, which may still be generating (and billing): never retried.
  timeout: { error: 'UPSTREAM_TIMEOUT', metric: 'timeout', retry: null },
  // Z.AI occasionally answers 200 with empty or cut JSON…
  truncated_response: {
    error: 'UPSTREAM_BAD_RESPONSE',
    metric: 'truncated_response',
    retry: 'truncated_response',
  },
  // …or a stream that closes before its first byte.
  empty_streaming: { error: 'UPSTREAM_EMPTY_STREAM', metric: 'empty_streaming', retry: 'empty_streaming' },
};

/** The throttling statuses: the only ones retried, and the ones that always carry X-Zai-* headers. */
export function isThrottlingStatus(status: number): boolean {
  return status === 429 || status === 529;
}
