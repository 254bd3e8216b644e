// The proxy's feature sets as the suite and the stream CPU bench pin them.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every feature on, limits far above the load: token counting, the concurrency limiter and fair
 * queue, the rate limiter, the quota poller (against the sim's quota endpoint), the access log (at
 * info, to /dev/null), metrics (always on).
 */
export function fullEnv(simUrl: string): Record<string, string> {
  return {
    TOKEN_COUNTING_ENABLED: 'true',
    CONCURRENCY_ENABLED: 'true',
    CONCURRENCY_INITIAL: '10000',
    CONCURRENCY_MIN: '10000',
    CONCURRENCY_MAX: '10000',
    MAX_WORKERS: '100000',
    MAX_QUEUE: '10000',
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_INITIAL: '1000000',
    RATE_LIMIT_MIN: '1000000',
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-bench-suite-${process.pid}.json`),
    QUOTA_POLL_ENABLED: 'true',
    QUOTA_POLL_INTERVAL: '10s',
    ZAI_QUOTA_BASE_URL: simUrl,
    LOG_LEVEL: 'info',
    ACCESS_LOG: 'true',
  };
}
/** The bare path: counting, admission, quota poller and access log off. */
export const BARE_ENV = { ACCESS_LOG: 'false', LOG_LEVEL: 'warn' };
