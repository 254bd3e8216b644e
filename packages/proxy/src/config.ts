// Every environment variable of the proxy, parsed and validated once at startup into a frozen Config.
// Nothing else in the proxy reads process.env (or the `.env` file). Error messages, case rules,
// secret redaction and the unknown-variable warning work from the schema alone, so a variable added
// to `Env` gets them without further code.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { type Parsed, parseModelMap, parseStepDown } from './routing/model-rules.ts';

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
        ctx.addIssue({ code: 'custom', message: 'expected true/false (also 1/0, yes/no, on/off)' });
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
          ctx.addIssue({
            code: 'custom',
            message: `expected a duration like 30s or 5m${minMs > 0 ? `, at least ${minMs}ms` : ''}`,
          });
          return z.NEVER;
        }
        return ms;
      }),
  );

// Numbers are plain decimal: `0x4651`, `1e3` or `0b1` would be read by Number() as something the
// operator did not write.
const INT_RE = /^[+-]?\d+$/;
const DEC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const range = (min: number, max: number) =>
  max === Number.MAX_SAFE_INTEGER || max === Number.MAX_VALUE ? `≥ ${min}` : `${min}–${max}`;
const numeric = (def: number, min: number, max: number, integer: boolean) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return def;
        const s = v.trim();
        const n = Number(s);
        if (!(integer ? INT_RE : DEC_RE).test(s) || n < min || n > max) {
          ctx.addIssue({
            code: 'custom',
            message: `expected ${integer ? 'an integer' : 'a decimal number'} ${range(min, max)}`,
          });
          return z.NEVER;
        }
        return n;
      }),
  );
const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) => numeric(def, min, max, true);
const num = (def: number, min: number, max = Number.MAX_VALUE) => numeric(def, min, max, false);
/** One of a fixed set of words, any case. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx): T[number] => {
        if (v === undefined) return def;
        const s = v.trim().toLowerCase();
        if ((values as readonly string[]).includes(s)) return s as T[number];
        ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}` });
        return z.NEVER;
      }),
  );
const str = (def: string) => opt(z.string().default(def));
const isHttpUrl = (v: string) => /^https?:\/\//.test(v) && URL.canParse(v);
const url = (def: string) => opt(z.string().default(def).refine(isHttpUrl, 'expected an http(s) URL'));
const optionalUrl = opt(
  z
    .string()
    .optional()
    .refine((v) => v === undefined || isHttpUrl(v), 'expected an http(s) URL'),
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
// Routing rules, parsed and checked (syntax, shadowed rules, cycles) by the routing module's parser;
// each bad rule is one issue naming it.
const rules = <R>(parse: (text: string) => Parsed<R>) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx): readonly R[] => {
        if (v === undefined) return [];
        const r = parse(v);
        for (const message of r.errors) ctx.addIssue({ code: 'custom', message });
        return r.errors.length > 0 ? z.NEVER : Object.freeze(r.rules);
      }),
  );
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const Env = z.object({
  PORT: int(8080, 0, 65535),
  HOST: str('0.0.0.0'),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  ACCESS_LOG: bool(true), // one line per finished request
  ZAI_API_KEY: opt(z.string().optional()),
  ZAI_API_KEY_FILE: opt(z.string().optional()), // a mounted Secret; re-read when it changes
  ZAI_TARGET_URL: url('https://api.z.ai/api/anthropic'),
  ZAI_OPENAI_TARGET_URL: url('https://api.z.ai/api/paas/v4'),
  PROXY_API_KEYS: list,
  DEPLOYMENT_VARIANT: str('production'),
  MAX_REQUEST_BYTES: int(32 * 1024 * 1024, 1), // 32 MiB: the Anthropic Messages request limit
  // 256 MiB held for request bodies at once, queued requests included: 8 maximum-size bodies
  MAX_BUFFERED_REQUEST_BYTES: int(256 * 1024 * 1024, 1),
  REQUEST_BODY_TIMEOUT: duration(15_000, 1), // 15 s without a byte of the request head or body: 408
  REQUEST_BODY_MIN_RATE: int(1024, 0), // bytes/s an upload must average over each REQUEST_BODY_TIMEOUT window
  MAX_RESPONSE_BUFFER_BYTES: int(16 * 1024 * 1024, 1024), // 16 MiB of a non-streaming body held to validate it and add usage
  UPSTREAM_CONNECT_TIMEOUT: duration(10_000, 1), // 10 s
  UPSTREAM_HEADERS_TIMEOUT: duration(300_000, 1), // 5 min: a non-streaming answer sends headers only when generation ends
  // 7 min of silence between response chunks: GLM models can reason ~6 min before the next byte,
  // a turn Z.AI bills whether or not the proxy waits it out.
  UPSTREAM_IDLE_TIMEOUT: duration(420_000, 1),
  STREAM_KEEPALIVE_INTERVAL: duration(10_000, 0), // 10 s of upstream silence before a ping / keepalive comment; 0 = off
  METRICS_TOKEN: opt(z.string().optional()), // Bearer token for /metrics and /health; unset = open
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
      .refine(isTimeZone, 'expected an IANA time zone such as America/New_York'),
  ),
  PRICING_PEAK_MULTIPLIER: num(1, 0), // API usage is billed the same at every hour
  DASHBOARD_URL: optionalUrl, // where the dashboard runs, for the proxy's `GET /` index
  QUOTA_POLL_ENABLED: bool(false), // each poll is an authenticated call to Z.AI's monitor API
  QUOTA_POLL_INTERVAL: duration(60_000, 1000), // 1 min
  QUOTA_POLL_TIMEOUT: duration(5000, 1), // 5 s per poll
  QUOTA_STALE_AFTER: duration(900_000, 1), // 15 min: a sample older than this is not fresh
  ZAI_QUOTA_BASE_URL: url('https://api.z.ai'),
  QUOTA_GATE_ENABLED: bool(true), // answer 429 at once while Z.AI says a window is spent
  QUOTA_ENFORCEMENT_ENABLED: bool(false), // also close the gate on a fresh poll beyond 1 − reserve
  QUOTA_RESERVE_FRACTION: num(0.05, 0, 0.99),
  QUOTA_PROBE_INTERVAL: duration(300_000, 1000), // 5 min between half-open probes when no reset is known
  // Model routing (docs/model-routing.md): unset = every request keeps its model, at no cost.
  MODEL_MAP: rules(parseModelMap), // claude-*haiku*=glm-4.5-air,claude-*=glm-4.6
  MODEL_STEP_DOWN: rules(parseStepDown), // glm-4.6=glm-4.5-air@five_hour>0.9,glm-4.6=glm-4.5-air@peak
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
  // Unset: defaultStateFile(PORT), resolved in loadConfig.
  RATE_LIMIT_STATE_FILE: opt(z.string().optional()),
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
  // Per-client budgets (docs/budgets.md): JSON text, or a file of it; CLIENT_BUDGETS wins.
  CLIENT_BUDGETS: opt(z.string().optional()),
  CLIENT_BUDGETS_FILE: opt(z.string().optional()),
  // Days, weeks and months of budgets are counted in this zone (the dashboard's reports use the same).
  REPORT_TIMEZONE: opt(
    z.string().default('UTC').refine(isTimeZone, 'expected an IANA time zone such as Europe/Berlin'),
  ),
  ADMIN_TOKEN: opt(z.string().min(16, 'expected at least 16 characters').optional()),
  TRUST_FORWARDED_FOR: bool(false), // fairness by X-Forwarded-For's first address (behind an ingress only)
  ZAI_PROXY_VERSION: str('unknown'),
  ZAI_PROXY_COMMIT: str('unknown'),
  ZAI_PROXY_BUILD_TIME: str('unknown'),
});

export type Config = Readonly<
  Omit<z.infer<typeof Env>, 'RATE_LIMIT_STATE_FILE'> & {
    /** The state file, or null for learned limits kept in memory only (PORT=0 without a file). */
    RATE_LIMIT_STATE_FILE: string | null;
  }
>;

/** RATE_LIMIT_STATE_FILE when unset: one file per listen port, so two proxies on one host never
 *  restore each other's learned limits (one shared default file made them do so). Under /tmp, writable
 *  by any user (the Go proxy's /var/lib/zai-proxy/ceiling.json needed root or a volume). PORT=0 (any
 *  free port) names no instance that a next run could be: its limits stay in memory. */
export function defaultStateFile(port: number): string | null {
  return port === 0 ? null : `/tmp/zai-proxy/admission-state-${port}.json`;
}

/** Every environment variable the proxy reads (docs are checked against this list). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(Env.shape);

/** A variable whose value must never be echoed (keys, tokens, passwords). */
export function isSecretVariable(name: string): boolean {
  return /(?:^|_)(?:KEY|KEYS|TOKEN|TOKENS|SECRET|PASSWORD|PASS)$/.test(name);
}

/** A value as it may appear in a message: secrets hidden, passwords in URLs masked. */
export function showValue(name: string, value: string): string {
  if (isSecretVariable(name)) return '(hidden)';
  return JSON.stringify(value.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@'));
}

/** Parses and validates the environment; throws ConfigError naming every invalid variable with
 *  the value given (secrets hidden) and the rule it broke, e.g. `PORT="abc": expected an integer 0–65535`. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = Env.safeParse(env);
  if (!r.success) {
    const names = [...new Set(r.error.issues.map((i) => String(i.path[0])))];
    throw new ConfigError(
      names,
      r.error.issues.map((i) => {
        const name = String(i.path[0]);
        const v = env[name];
        return `${name}=${v === undefined ? '(unset)' : showValue(name, v)}: ${i.message}`;
      }),
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
  return Object.freeze({ ...c, RATE_LIMIT_STATE_FILE: c.RATE_LIMIT_STATE_FILE ?? defaultStateFile(c.PORT) });
}

/** The process environment with a `.env` file in `dir` under it: variables already set win. A
 *  missing file is no error; a file that cannot be read or parsed is a ConfigError. */
export function environment(
  dir: string = process.cwd(),
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const path = join(dir, '.env');
  if (!existsSync(path)) return env;
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new ConfigError(['.env'], [`.env: cannot read ${path}: ${(err as Error).message}`]);
  }
  return { ...parsed, ...env };
}

// Variable families of the project: an unknown name with one of these prefixes is most likely a typo
// of a real one (or a setting of a feature this version does not have), worth a word at startup.
const EXTRA_PREFIXES = ['RATE_LIMIT_', 'QUOTA_', 'DASHBOARD_', 'REDIS_', 'BUDGET_', 'ADMISSION_'];
const PREFIXES = [
  ...new Set([
    ...CONFIG_VARIABLES.filter((n) => n.includes('_')).map((n) => `${n.slice(0, n.indexOf('_'))}_`),
    ...EXTRA_PREFIXES,
  ]),
];
// Kubernetes injects these for every Service in the namespace (a Service named zai-proxy gives
// ZAI_PROXY_SERVICE_HOST, ZAI_PROXY_PORT=tcp://…, ZAI_PROXY_PORT_8080_TCP_ADDR…): not settings.
const SERVICE_LINK =
  /_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)$/;
const SERVICE_LINK_PORT = /_PORT$/;
const SERVICE_LINK_VALUE = /^(?:tcp|udp|sctp):\/\//;
/** Variables of the Go original that this version does not read, and what replaces them. */
const NOT_READ: Readonly<Record<string, string>> = {
  QUOTA_MAX_RESPONSE_BYTES: 'the quota read budget is a fixed 64 KiB; it is ignored',
};

/** Startup warnings for variables with a project prefix that the proxy does not read, each naming
 *  the closest known variable. Service-link variables Kubernetes injects are not warned about. */
export function configWarnings(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (CONFIG_VARIABLES.includes(name) || !PREFIXES.some((p) => name.startsWith(p))) continue;
    if (SERVICE_LINK.test(name)) continue;
    if (SERVICE_LINK_PORT.test(name) && SERVICE_LINK_VALUE.test(env[name] ?? '')) continue;
    const why = NOT_READ[name];
    if (why !== undefined) {
      out.push(`${name} is a variable of the original proxy: ${why}`);
      continue;
    }
    out.push(`${name} is not a zai-proxy variable and is ignored; did you mean ${closest(name)}?`);
  }
  return out;
}

function closest(name: string): string {
  let best = CONFIG_VARIABLES[0]!;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of CONFIG_VARIABLES) {
    const d = editDistance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** What each variable is for, shown by `--help`; a variable without a line is listed by name. */
export const VARIABLE_HELP: Readonly<Partial<Record<keyof typeof Env.shape, string>>> = {
  PORT: 'listen port (0 = any free port)',
  HOST: 'listen address',
  LOG_LEVEL: 'fatal, error, warn, info, debug, trace or silent',
  ACCESS_LOG: 'one log line per finished request',
  ZAI_API_KEY: "the Z.AI key; unset = pass-through (each client's own key is forwarded)",
  ZAI_TARGET_URL: 'Anthropic-compatible upstream base',
  ZAI_OPENAI_TARGET_URL: 'OpenAI-compatible upstream base (coding plan: …/api/coding/paas/v4)',
  PROXY_API_KEYS: 'comma list of key or name:key clients must present (needs ZAI_API_KEY)',
  DEPLOYMENT_VARIANT: '`variant` label on every metric',
  MAX_REQUEST_BYTES: 'larger request bodies get 413',
  MAX_RESPONSE_BUFFER_BYTES: 'non-streaming bodies held to validate them and add usage',
  UPSTREAM_CONNECT_TIMEOUT: 'connect to Z.AI',
  UPSTREAM_HEADERS_TIMEOUT: 'until upstream response headers',
  UPSTREAM_IDLE_TIMEOUT: 'longest silence between stream chunks',
  SHUTDOWN_TIMEOUT: 'in-flight requests get this long on SIGTERM',
  MAX_RETRIES: 'extra upstream attempts after the first',
  MAX_RETRY_WAIT: 'a longer retry wait goes back to the client with Retry-After',
  TOKEN_COUNTING_ENABLED: 'token and cost accounting',
  TOKENIZER_MODEL: 'model label when a request names none',
  TOKENIZER_FALLBACK: 'force the bytes/4 counter',
  PRICING_FILE: 'price table file (JSON)',
  PRICING_JSON: 'price table inline (JSON)',
  DASHBOARD_URL: "the dashboard's URL, listed by GET /",
  ZAI_PROXY_VERSION: 'version (default: the package version)',
  ZAI_PROXY_COMMIT: 'commit (default: git HEAD when run from a checkout)',
};

/** The documented default of each variable as text ('' when it has none). */
export function variableDefaults(): Record<string, string> {
  const d = Env.parse({}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const n of CONFIG_VARIABLES) {
    const v = d[n];
    out[n] = v === undefined || (Array.isArray(v) && v.length === 0) ? '' : String(v);
  }
  return out;
}
