// Every environment variable of the proxy, parsed and validated once at startup into a frozen Config.
// Nothing else in the proxy reads process.env.
import { z } from 'zod';

/** Startup configuration error; `variables` names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variables: string[],
    details: string[],
  ) {
    super(`invalid configuration: ${details.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go duration (`300ms`, `1m30s`, `6h`) or a bare number of seconds into milliseconds; null if invalid. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (s === '0') return 0;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    DURATION_PART.lastIndex = i;
    const m = DURATION_PART.exec(s);
    if (m === null) return null;
    total += Number(m[1]) * (DURATION_UNITS[m[2]!] ?? 0);
    i = DURATION_PART.lastIndex;
  }
  return i === 0 ? null : total;
}

// Unset or empty means "use the default", as in the original; a present value must be valid.
const opt = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

const TRUE = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off']);
// The original read FALSE/off as true; here an unrecognised value is an error, not a silent true.
const bool = (def: boolean) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return def;
        const s = v.trim().toLowerCase();
        if (TRUE.has(s)) return true;
        if (FALSE.has(s)) return false;
        ctx.addIssue({ code: 'custom', message: `expected true/false, got "${v}"` });
        return z.NEVER;
      }),
  );

const duration = (defMs: number, minMs = 0) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return defMs;
        const ms = parseDuration(v);
        if (ms === null || ms < minMs) {
          ctx.addIssue({ code: 'custom', message: `expected a duration like 30s or 5m, got "${v}"` });
          return z.NEVER;
        }
        return ms;
      }),
  );

const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  opt(z.coerce.number().int().min(min).max(max).default(def));
const num = (def: number, min: number, max = Number.MAX_VALUE) =>
  opt(z.coerce.number().min(min).max(max).default(def));
const str = (def: string) => opt(z.string().default(def));
const url = (def: string) =>
  opt(
    z
      .string()
      .default(def)
      .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'expected an http(s) URL'),
  );
const list = opt(
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    ),
);
const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;

const Env = z.object({
  PORT: int(8080, 0, 65535),
  HOST: str('0.0.0.0'),
  LOG_LEVEL: opt(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  ZAI_API_KEY: opt(z.string().optional()),
  ZAI_API_KEY_FILE: opt(z.string().optional()), // a mounted Secret; re-read when it changes
  ZAI_TARGET_URL: url('https://api.z.ai/api/anthropic'),
  ZAI_OPENAI_TARGET_URL: url('https://api.z.ai/api/paas/v4'),
  PROXY_API_KEYS: list,
  DEPLOYMENT_VARIANT: str('production'),
  MAX_REQUEST_BYTES: int(32 * 1024 * 1024, 1), // 32 MiB: the Anthropic Messages request limit
  MAX_RESPONSE_BUFFER_BYTES: int(16 * 1024 * 1024, 1024), // 16 MiB of a non-streaming body held to validate it and add usage
  UPSTREAM_CONNECT_TIMEOUT: duration(10_000, 1), // 10 s
  UPSTREAM_HEADERS_TIMEOUT: duration(300_000, 1), // 5 min: a non-streaming answer sends headers only when generation ends
  UPSTREAM_IDLE_TIMEOUT: duration(120_000, 1), // 2 min of silence between stream chunks
  // 10 min for in-flight requests to finish on SIGTERM: a Claude Code turn streams for minutes and
  // cannot resume (32k output tokens at ~55 tokens/s is ~10 min; twice UPSTREAM_HEADERS_TIMEOUT).
  SHUTDOWN_TIMEOUT: duration(600_000, 0),
  SHUTDOWN_DELAY: duration(5_000, 0), // 5 s of /readyz 503 while still serving, so load balancers stop sending
  MAX_RETRIES: int(3, 0, 20),
  MAX_RETRY_WAIT: duration(60_000, 0), // 60 s: a longer Retry-After goes back to the client instead of holding a slot
  TOKEN_COUNTING_ENABLED: bool(true),
  TOKENIZER_MODEL: str('glm-4'),
  TOKENIZER_FALLBACK: bool(false), // force the bytes/4 counter (what happens when cl100k cannot load)
  COUNT_TOKENS_UNSUPPORTED_TTL: duration(3_600_000, 0), // 1 h: after a 404/405/501, answer count_tokens locally without asking
  TOKEN_CALIBRATION_INTERVAL: duration(10_000, 0), // 10 s: at most one calibration sample per model per interval
  TOKEN_CALIBRATION_STATE_FILE: opt(z.string().optional()), // unset: the learned ratios live in memory only
  TOKEN_CALIBRATION_STATE_MAX_AGE: duration(7 * 86_400_000, 0), // 7 days: an older snapshot is relearned
  PRICING_FILE: opt(z.string().optional()),
  PRICING_JSON: opt(z.string().optional()),
  // Z.AI's peak hours: 14:00-18:00 Beijing time, every day.
  PRICING_PEAK_START: opt(z.string().regex(hhmm, 'expected HH:MM').default('14:00')),
  PRICING_PEAK_END: opt(z.string().regex(hhmm, 'expected HH:MM').default('18:00')),
  PRICING_TIMEZONE: opt(
    z
      .string()
      .default('Asia/Shanghai')
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'expected an IANA time zone such as America/New_York'),
  ),
  PRICING_PEAK_MULTIPLIER: num(1, 0), // API usage is billed the same at every hour
  QUOTA_POLL_ENABLED: bool(false), // each poll is an authenticated call to Z.AI's monitor API
  QUOTA_POLL_INTERVAL: duration(60_000, 1000), // 1 min
  QUOTA_POLL_TIMEOUT: duration(5000, 1), // 5 s per poll
  QUOTA_STALE_AFTER: duration(900_000, 1), // 15 min: a sample older than this is not fresh
  ZAI_QUOTA_BASE_URL: url('https://api.z.ai'),
  QUOTA_GATE_ENABLED: bool(true), // answer 429 at once while Z.AI says a window is spent
  QUOTA_ENFORCEMENT_ENABLED: bool(false), // also close the gate on a fresh poll beyond 1 − reserve
  QUOTA_RESERVE_FRACTION: num(0.05, 0, 0.99),
  QUOTA_PROBE_INTERVAL: duration(300_000, 1000), // 5 min between half-open probes when no reset is known
  // Admission (docs/admission.md). The Go proxy's MAX_WORKERS default (10, queued requests included)
  // refused a team's burst with 503s; requests now wait in a bounded queue instead.
  MAX_WORKERS: int(256, 1), // requests inside the proxy, running or queued
  MAX_QUEUE: int(200, 0), // attempts waiting for a slot, all clients together
  MAX_QUEUE_WAIT: duration(60_000, 0), // 60 s: a request's whole wait budget, requeues after 1302 included
  CONCURRENCY_ENABLED: bool(true),
  CONCURRENCY_INITIAL: int(2, 1, 10_000), // low: the first 1302 comes before any learning otherwise
  CONCURRENCY_MIN: int(1, 1, 10_000),
  CONCURRENCY_MAX: int(64, 1, 10_000),
  CONCURRENCY_BACKOFF: num(0.75, 0.05, 0.99), // multiplicative cut on the first 1302 of an episode
  CONCURRENCY_PROBE_ROUNDS: int(5, 0, 10_000), // clean rounds at the hold before probing one slot above
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_INITIAL: num(10, 0.001), // req/s
  RATE_LIMIT_MIN: num(1, 0.001),
  RATE_LIMIT_MAX: num(50, 0.001),
  RATE_LIMIT_CEILING_ALPHA: opt(z.coerce.number().gt(0).max(1).default(0.3)),
  RATE_LIMIT_HOLD_MARGIN: opt(z.coerce.number().gt(0).lt(1).default(0.02)),
  RATE_LIMIT_PROBE_INTERVAL: int(10, 0), // clean 30 s windows between probes; 0 disables probing
  // Writable by any user; the Go proxy's /var/lib/zai-proxy/ceiling.json needed root or a volume.
  RATE_LIMIT_STATE_FILE: str('/tmp/zai-proxy/admission-state.json'),
  RATE_LIMIT_STATE_MAX_AGE: duration(6 * 3_600_000, 0), // 6 h
  REDIS_URL: opt(
    z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || (/^rediss?:\/\//.test(v) && URL.canParse(v)),
        'expected redis://host:port',
      ),
  ),
  REDIS_LEASE_TTL: duration(15_000, 1000), // 15 s: a dead replica's slots come free after this
  ADMIN_TOKEN: opt(z.string().min(16, 'expected at least 16 characters').optional()),
  TRUST_FORWARDED_FOR: bool(false), // fairness by X-Forwarded-For's first address (behind an ingress only)
  ZAI_PROXY_VERSION: str('unknown'),
  ZAI_PROXY_COMMIT: str('unknown'),
  ZAI_PROXY_BUILD_TIME: str('unknown'),
});

export type Config = Readonly<z.infer<typeof Env>>;

/** Every environment variable the proxy reads (docs are checked against this list). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(Env.shape);

/** Parses and validates the environment; throws ConfigError naming every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = Env.safeParse(env);
  if (!r.success) {
    const names = [...new Set(r.error.issues.map((i) => String(i.path[0])))];
    throw new ConfigError(
      names,
      r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`),
    );
  }
  const c = r.data;
  if (c.ZAI_API_KEY !== undefined && c.ZAI_API_KEY_FILE !== undefined) {
    throw new ConfigError(
      ['ZAI_API_KEY', 'ZAI_API_KEY_FILE'],
      ['ZAI_API_KEY_FILE: set either ZAI_API_KEY or ZAI_API_KEY_FILE, not both'],
    );
  }
  if (c.PROXY_API_KEYS.length > 0 && c.ZAI_API_KEY === undefined && c.ZAI_API_KEY_FILE === undefined) {
    // With client keys checked by the proxy there is no client Z.AI key to pass through.
    throw new ConfigError(['PROXY_API_KEYS'], ['PROXY_API_KEYS: requires ZAI_API_KEY or ZAI_API_KEY_FILE']);
  }
  const bounds: string[] = [];
  if (!(c.CONCURRENCY_MIN <= c.CONCURRENCY_INITIAL && c.CONCURRENCY_INITIAL <= c.CONCURRENCY_MAX))
    bounds.push('CONCURRENCY_INITIAL');
  if (!(c.RATE_LIMIT_MIN <= c.RATE_LIMIT_INITIAL && c.RATE_LIMIT_INITIAL <= c.RATE_LIMIT_MAX))
    bounds.push('RATE_LIMIT_INITIAL');
  if (bounds.length > 0) {
    // The Go proxy accepted MIN > MAX or INITIAL outside the bounds and behaved oddly.
    throw new ConfigError(
      bounds,
      bounds.map(
        (b) => `${b}: must lie within ${b.replace('INITIAL', 'MIN')}..${b.replace('INITIAL', 'MAX')}`,
      ),
    );
  }
  return Object.freeze(c);
}
