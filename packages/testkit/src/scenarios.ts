/** Scenario grammar of the simulated upstream: `name;key=value;...`, parsed and validated once, up front. */

export const SCENARIO_NAMES = [
  'ok',
  'zai_error',
  'status',
  'empty',
  'invalid_json',
  'reset_before_headers',
  'reset_mid_stream',
  'slow_headers',
  'stall',
  'huge',
  'empty_stream',
  'count_tokens_unsupported',
  'fail_then_ok',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Routes a queued scenario can be pinned to with `route=`. */
export const ROUTE_NAMES = ['messages', 'count_tokens', 'chat_completions', 'models', 'quota'] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

export const ZAI_ENVELOPES = ['nested', 'flat', 'anthropic'] as const;
export type ZaiEnvelope = (typeof ZAI_ENVELOPES)[number];

export const QUOTA_LIMIT_TYPES = ['TOKENS_LIMIT', 'CREDIT_LIMIT'] as const;
export type QuotaLimitType = (typeof QUOTA_LIMIT_TYPES)[number];

/** Payload shapes of the quota route seen in the wild (packages/testkit/README.md lists them). */
export const QUOTA_SHAPES = [
  'absolute',
  'percentage',
  'remaining',
  'current',
  'reversed',
  'mixed',
  'fresh',
] as const;
export type QuotaShape = (typeof QUOTA_SHAPES)[number];

/**
 * One parsed scenario. Every field but `name` is optional; the string key each one comes from is
 * in its comment. Defaults for unset fields are listed in packages/testkit/README.md.
 */
export interface ScenarioSpec {
  name: ScenarioName;
  /** route= : only a request to this route takes the scenario from the enqueue() FIFO. */
  route?: RouteName;
  /** header=Name:Value (repeatable): extra response headers. */
  headers?: ReadonlyArray<readonly [string, string]>;

  // Reply shaping (ok and every scenario that ends up answering like ok).
  /** input= */ input?: number;
  /** output= */ output?: number;
  /** cache_read= */ cacheRead?: number;
  /** cache_write= */ cacheWrite?: number;
  /** words= : length of the reply text in words (default: SimOptions.tokensPerReply). */
  words?: number;
  /** events= : number of text deltas in a stream. */
  events?: number;
  /** delay= : ms between stream events (for slow_headers it is headerDelayMs instead). */
  delayMs?: number;
  /** chunk= : write the body in pieces of this many bytes, yielding to the event loop between. */
  chunk?: number;
  /** crlf=1 : \r\n line endings in SSE. */
  crlf?: boolean;
  /** no_usage=1 : no usage anywhere in the response. */
  noUsage?: boolean;
  /** gate=1 : first stream event at once, each next one after SimUpstream.advance(). */
  gate?: boolean;

  // Quota route (ok).
  /** level= : plan tier (default 'pro'). */ level?: string;
  /** limit_type=TOKENS_LIMIT|CREDIT_LIMIT */ limitType?: QuotaLimitType;
  /** five_hour_pct= : used percentage of the five-hour window (default: from tokens served). */
  fiveHourPct?: number;
  /** weekly_pct= */ weeklyPct?: number;
  /** shape= : payload shape (default absolute). */ shape?: QuotaShape;
  /** pad= : bytes of filler in the body (an oversized reply). */ pad?: number;

  // zai_error and status.
  /** zai_error status= / status code= (or status=) : the HTTP status. */
  status?: number;
  /** zai_error code= : the Z.AI business code, e.g. '1302'. */
  code?: string;
  /** envelope=nested|flat|anthropic */ envelope?: ZaiEnvelope;
  /** retry_after_header= : Retry-After value, sent verbatim. */ retryAfterHeader?: string;
  /** retry_after_http_date=1 : send Retry-After as an HTTP-date (now + retry_after_header or 5 s). */
  retryAfterHttpDate?: boolean;
  /** retry_after_body= : `retry_after` field in the error object (number when numeric). */
  retryAfterBody?: string;
  /** reset= : reset field value; `+S` means now + S seconds in epoch ms. */ reset?: string;
  /** reset_field= : name of the reset field (default reset_time). */ resetField?: string;
  /** msg= : error message text. */ msg?: string;
  /** status body= : raw response body text. */ body?: string;

  // Faults.
  /** after= : events written before reset_mid_stream destroys / stall stops. */ after?: number;
  /** bytes= : huge reply text size. */ bytes?: number;
  /** slow_headers delay= : ms before the response head. */ headerDelayMs?: number;
  /** fail_then_ok times= */ times?: number;
  /** fail_then_ok with=<name> plus the remaining options: the failure to repeat. */
  inner?: ScenarioSpec;
}

/** Thrown for a scenario string or spec that cannot be applied; the message names the culprit. */
export class ScenarioError extends Error {
  readonly code = 'SIM_SCENARIO_INVALID';
  override readonly name = 'ScenarioError';
}

type Kind = 'int' | 'bool' | 'text' | 'envelope' | 'route' | 'header' | 'limit_type' | 'quota_shape';
interface KeyRule {
  field: keyof ScenarioSpec;
  kind: Kind;
}

const KEYS: Readonly<Record<string, KeyRule>> = {
  route: { field: 'route', kind: 'route' },
  header: { field: 'headers', kind: 'header' },
  input: { field: 'input', kind: 'int' },
  output: { field: 'output', kind: 'int' },
  cache_read: { field: 'cacheRead', kind: 'int' },
  cache_write: { field: 'cacheWrite', kind: 'int' },
  words: { field: 'words', kind: 'int' },
  events: { field: 'events', kind: 'int' },
  delay: { field: 'delayMs', kind: 'int' },
  chunk: { field: 'chunk', kind: 'int' },
  crlf: { field: 'crlf', kind: 'bool' },
  no_usage: { field: 'noUsage', kind: 'bool' },
  gate: { field: 'gate', kind: 'bool' },
  level: { field: 'level', kind: 'text' },
  limit_type: { field: 'limitType', kind: 'limit_type' },
  five_hour_pct: { field: 'fiveHourPct', kind: 'int' },
  weekly_pct: { field: 'weeklyPct', kind: 'int' },
  shape: { field: 'shape', kind: 'quota_shape' },
  pad: { field: 'pad', kind: 'int' },
  status: { field: 'status', kind: 'int' },
  code: { field: 'code', kind: 'text' },
  envelope: { field: 'envelope', kind: 'envelope' },
  retry_after_header: { field: 'retryAfterHeader', kind: 'text' },
  retry_after_http_date: { field: 'retryAfterHttpDate', kind: 'bool' },
  retry_after_body: { field: 'retryAfterBody', kind: 'text' },
  reset: { field: 'reset', kind: 'text' },
  reset_field: { field: 'resetField', kind: 'text' },
  msg: { field: 'msg', kind: 'text' },
  body: { field: 'body', kind: 'text' },
  after: { field: 'after', kind: 'int' },
  bytes: { field: 'bytes', kind: 'int' },
  times: { field: 'times', kind: 'int' },
};

// Keys whose meaning depends on the scenario, as the brief's grammar has it.
const RENAMED: Partial<Record<ScenarioName, Readonly<Record<string, KeyRule>>>> = {
  slow_headers: { delay: { field: 'headerDelayMs', kind: 'int' } },
  status: { code: { field: 'status', kind: 'int' } },
};

// Reply-shaping keys: ok, and every scenario that ends up answering like ok.
const SHAPE = [
  ...'input output cache_read cache_write words events delay chunk crlf no_usage gate'.split(' '),
  ...'level limit_type five_hour_pct weekly_pct shape pad'.split(' '), // quota route
];
const ZAI_KEYS = [
  ...'status code envelope msg reset reset_field chunk'.split(' '),
  ...'retry_after_header retry_after_http_date retry_after_body'.split(' '),
];

/** Option keys each scenario accepts besides `route` and `header` (fail_then_ok passes the rest on). */
export const SCENARIO_KEYS: Readonly<Record<ScenarioName, readonly string[]>> = {
  ok: SHAPE,
  zai_error: ZAI_KEYS,
  status: ['code', 'status', 'body', 'chunk'],
  empty: [],
  invalid_json: [],
  reset_before_headers: [],
  reset_mid_stream: [...SHAPE, 'after'],
  slow_headers: SHAPE,
  stall: [...SHAPE, 'after'],
  huge: [...SHAPE, 'bytes'],
  empty_stream: [],
  count_tokens_unsupported: SHAPE,
  fail_then_ok: ['times', 'with'],
};

const INT_MAX = 2 ** 31 - 1;

function isName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}

// Values may be percent-encoded so they can hold `;`; a stray `%` (e.g. "37%") stays literal.
function decodeValue(v: string): string {
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function convert(rule: KeyRule, key: string, value: string): unknown {
  switch (rule.kind) {
    case 'int': {
      if (!/^\d+$/.test(value) || Number(value) > INT_MAX) {
        throw new ScenarioError(`option ${key} must be a non-negative integer, got '${value}'`);
      }
      return Number(value);
    }
    case 'bool':
      if (value === '1' || value === 'true') return true;
      if (value === '0' || value === 'false') return false;
      throw new ScenarioError(`option ${key} must be 1 or 0, got '${value}'`);
    case 'envelope':
      if ((ZAI_ENVELOPES as readonly string[]).includes(value)) return value;
      throw new ScenarioError(`option ${key} must be one of ${ZAI_ENVELOPES.join('|')}, got '${value}'`);
    case 'route':
      if ((ROUTE_NAMES as readonly string[]).includes(value)) return value;
      throw new ScenarioError(`option ${key} must be one of ${ROUTE_NAMES.join('|')}, got '${value}'`);
    case 'limit_type':
      if ((QUOTA_LIMIT_TYPES as readonly string[]).includes(value)) return value;
      throw new ScenarioError(`option ${key} must be one of ${QUOTA_LIMIT_TYPES.join('|')}, got '${value}'`);
    case 'quota_shape':
      if ((QUOTA_SHAPES as readonly string[]).includes(value)) return value;
      throw new ScenarioError(`option ${key} must be one of ${QUOTA_SHAPES.join('|')}, got '${value}'`);
    case 'header': {
      const colon = value.indexOf(':');
      const name = colon > 0 ? value.slice(0, colon).trim() : '';
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw new ScenarioError(`option ${key} must be Name:Value, got '${value}'`);
      }
      return [name, value.slice(colon + 1).trim()] as const;
    }
    case 'text':
      if (value === '') throw new ScenarioError(`option ${key} must not be empty`);
      return value;
  }
}

function splitPair(part: string): [string, string] {
  const eq = part.indexOf('=');
  // A bare key is shorthand for key=1 (`ok;gate`).
  if (eq === -1) return [part.trim(), '1'];
  return [part.slice(0, eq).trim(), decodeValue(part.slice(eq + 1).trim())];
}

/** Parses `name;key=value;...` into a validated spec; throws ScenarioError naming the bad part. */
export function parseScenario(s: string): ScenarioSpec {
  const parts = s.split(';').filter((p) => p.trim() !== '');
  const name = (parts.shift() ?? '').trim();
  if (!isName(name)) {
    throw new ScenarioError(`unknown scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')})`);
  }
  if (name === 'fail_then_ok') return parseFailThenOk(parts);
  const spec: Record<string, unknown> = { name };
  const allowed = SCENARIO_KEYS[name];
  for (const part of parts) {
    const [key, value] = splitPair(part);
    if (key !== 'route' && key !== 'header' && !allowed.includes(key)) {
      throw new ScenarioError(`scenario ${name} takes no option '${key}'`);
    }
    const rule = RENAMED[name]?.[key] ?? KEYS[key]!;
    const converted = convert(rule, key, value);
    if (rule.kind === 'header') {
      spec.headers = [...((spec.headers as [string, string][] | undefined) ?? []), converted];
    } else {
      spec[rule.field] = converted;
    }
  }
  return validateScenario(spec as unknown as ScenarioSpec);
}

function parseFailThenOk(parts: string[]): ScenarioSpec {
  let times = 1;
  let inner = 'zai_error';
  let route: RouteName | undefined;
  const rest: string[] = [];
  for (const part of parts) {
    const [key, value] = splitPair(part);
    if (key === 'times') times = convert(KEYS.times!, key, value) as number;
    else if (key === 'with') inner = value;
    else if (key === 'route') route = convert(KEYS.route!, key, value) as RouteName;
    else rest.push(part);
  }
  if (inner === 'fail_then_ok') throw new ScenarioError('fail_then_ok cannot wrap itself');
  const spec: ScenarioSpec = {
    name: 'fail_then_ok',
    times,
    inner: parseScenario([inner, ...rest].join(';')),
  };
  if (route !== undefined) spec.route = route;
  return spec;
}

/** Checks a spec built by hand (enqueue accepts objects); returns it unchanged. */
export function validateScenario(spec: ScenarioSpec): ScenarioSpec {
  if (!isName(spec.name)) throw new ScenarioError(`unknown scenario '${String(spec.name)}'`);
  if (spec.route !== undefined && !(ROUTE_NAMES as readonly string[]).includes(spec.route)) {
    throw new ScenarioError(`route must be one of ${ROUTE_NAMES.join('|')}`);
  }
  if (spec.status !== undefined && (spec.status < 100 || spec.status > 999)) {
    throw new ScenarioError(`status must be an HTTP status (100-999), got ${spec.status}`);
  }
  if (spec.chunk === 0) throw new ScenarioError('chunk must be at least 1');
  if (spec.name === 'fail_then_ok') {
    if (spec.inner === undefined) throw new ScenarioError('fail_then_ok needs an inner scenario');
    if (spec.inner.name === 'fail_then_ok') throw new ScenarioError('fail_then_ok cannot wrap itself');
    validateScenario(spec.inner);
  }
  return spec;
}

/** The shared default: a normal reply. */
export const OK: ScenarioSpec = Object.freeze({ name: 'ok' });
