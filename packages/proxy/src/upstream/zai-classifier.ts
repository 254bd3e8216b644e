// Z.AI error classifier: turns an upstream error status and its bounded body into a closed class,
// a bounded business code and reset/retry hints. Z.AI's HTTP status alone does not say what ran
// out (a 429 may be concurrency, frequency, a spent quota window or a busy model), so the business
// code in the body decides. Every Z.AI business code the proxy knows appears in this file only.
//
// The parser is pure and bounded and never keeps provider message text: messages are inspected
// transiently for a code prefix or a reset stamp, and only the parsed values survive (provider
// text may identify the account, so it must not reach logs or metrics through this type).

/** Closed set of error classes; also the `class` label vocabulary of zai_proxy_zai_errors_total. */
export type ZaiErrorClass =
  | 'concurrency'
  | 'frequency'
  | 'overloaded'
  | 'model_congestion'
  | 'quota'
  | 'fair_use'
  | 'billing'
  | 'permission'
  | 'request'
  | 'auth'
  | 'unknown';

/** Which quota window a quota-class error says is spent. */
export type QuotaWindow = 'daily' | 'five_hour' | 'weekly';

/** Safe, bounded summary of one upstream error response. */
export interface ZaiError {
  class: ZaiErrorClass;
  /** 1–8 ASCII digits as recovered (e.g. '1302', '9999'); null if none. */
  code: string | null;
  /** What decided the class: a known business code, the message text, or only the HTTP status. */
  basis: 'code' | 'message' | 'status';
  /** For class 'quota': the window that is spent, when the code or message says which. */
  quotaWindow: QuotaWindow | null;
  /** Reset instant (Unix ms) from a reset field or a message stamp, plausibility-bounded. */
  resetAtMs: number | null;
  /** Body retry_after/retryAfter hint in seconds, in (0, 604800]. */
  retryAfterSec: number | null;
  /** The body exceeded the budget and was not parsed. */
  oversized: boolean;
}

/** What a class means for the rest of the proxy. Admission, quota and the operator headers read
 *  these properties; no other module looks at business codes. */
export interface ZaiClassInfo {
  /** The same request sent again later by the client can succeed without anyone acting (the value
   *  of `x-should-retry`). False where only a reset, a payment, a plan change or a fixed request helps. */
  clientMayRetry: boolean;
  /** A 429 of this class is the request-rate limiter's input (the account is sending too fast). */
  feedsRateLimiter: boolean;
  /** The only signal that cuts the account's concurrency limit: too many requests in flight. */
  cutsConcurrency: boolean;
  /** The account cannot be served until a reset instant: admission closes a gate instead of sending. */
  gates: boolean;
  /** Level of the log line when this class is seen; 'error' = a person must act. */
  logLevel: 'info' | 'warn' | 'error';
}

/** The classes and what each means; `docs/errors.md` has the same table in prose. */
export const ZAI_CLASSES: Readonly<Record<ZaiErrorClass, Readonly<ZaiClassInfo>>> = Object.freeze({
  concurrency: info(true, false, true, false, 'info'),
  frequency: info(true, true, false, false, 'info'),
  // Z.AI's own condition (service or model busy), not this account's: no limit is cut for it.
  overloaded: info(true, false, false, false, 'info'),
  model_congestion: info(true, false, false, false, 'info'),
  quota: info(false, false, false, true, 'warn'),
  // Z.AI limits the account's request frequency until the owner applies for lifting it.
  fair_use: info(false, false, false, false, 'error'),
  billing: info(false, false, false, false, 'error'),
  permission: info(false, false, false, false, 'warn'),
  request: info(false, false, false, false, 'info'),
  auth: info(false, false, false, false, 'warn'),
  // A 429 with no code may be anything; as before, it is rate pressure and worth another try.
  unknown: info(true, true, false, false, 'info'),
});

function info(
  clientMayRetry: boolean,
  feedsRateLimiter: boolean,
  cutsConcurrency: boolean,
  gates: boolean,
  logLevel: ZaiClassInfo['logLevel'],
): Readonly<ZaiClassInfo> {
  return Object.freeze({ clientMayRetry, feedsRateLimiter, cutsConcurrency, gates, logLevel });
}

/** Body budget when the caller passes none: real Z.AI errors are well under 1 KiB. */
export const DEFAULT_ZAI_ERROR_BODY_BYTES = 32768; // 32 KiB

interface CodeRow {
  class: ZaiErrorClass;
  window?: QuotaWindow;
}

/** Business code → class: Z.AI's published list (api-code pages of docs.z.ai and docs.bigmodel.cn)
 *  and codes seen in issue reports. Every code the proxy knows is here and nowhere else. */
export const ZAI_CODES: ReadonlyMap<string, Readonly<CodeRow>> = new Map<string, CodeRow>([
  ['1000', { class: 'auth' }], // authentication failed
  ['1001', { class: 'auth' }], // no Authorization header
  ['1002', { class: 'auth' }], // invalid token
  ['1003', { class: 'auth' }], // token expired
  ['1004', { class: 'auth' }], // token rejected
  ['1113', { class: 'billing' }], // account in arrears; also a coding-plan key on the general endpoint
  ['1210', { class: 'request' }], // invalid parameters
  ['1211', { class: 'request' }], // model does not exist
  ['1213', { class: 'request' }], // a required field is missing
  ['1214', { class: 'request' }], // a field is invalid (e.g. "[1214][modelCode: does not exist]")
  ['1215', { class: 'request' }], // two fields that exclude each other
  ['1220', { class: 'permission' }], // no access to this API
  ['1261', { class: 'request' }], // prompt too long
  ['1301', { class: 'request' }], // content flagged as unsafe: the same request fails again
  ['1302', { class: 'concurrency' }], // too many requests in flight for the account
  ['1303', { class: 'frequency' }], // request frequency too high
  ['1304', { class: 'quota', window: 'daily' }], // daily call count reached
  ['1305', { class: 'overloaded' }], // traffic limit / service overloaded (often HTTP 529)
  ['1308', { class: 'quota', window: 'five_hour' }], // five-hour usage cap; reset time in the body
  ['1309', { class: 'billing' }], // coding plan expired
  ['1310', { class: 'quota', window: 'weekly' }], // weekly/monthly cap; reset only in the message
  ['1311', { class: 'permission' }], // the plan does not include this model
  ['1312', { class: 'model_congestion' }], // this model is busy, not this account
  ['1313', { class: 'fair_use' }], // fair-use policy: request frequency limited until lifted
]);

interface MessageRule {
  re: RegExp;
  class: ZaiErrorClass;
  window?: QuotaWindow;
}

// Used only when the body has no known code. Texts drift between codes (a 1302 body with the
// frequency wording, a 1305 body with the 1312 wording), so the code always wins; the order here
// puts the more specific wordings first. English and Chinese, from Z.AI's published messages.
const MESSAGE_RULES: readonly MessageRule[] = [
  { re: /fair[- ]?use|公平使用/i, class: 'fair_use' },
  { re: /(?:plan|package|subscription)[^.]{0,40}expired|套餐已到期|套餐已过期/i, class: 'billing' },
  {
    re: /does not (?:yet )?include access|(?:plan|subscription)[^.]{0,40}(?:not (?:yet )?(?:include|support|open))|暂未开放[^。]{0,60}权限/i,
    class: 'permission',
  },
  { re: /weekly|monthly|每周|每月/i, class: 'quota', window: 'weekly' },
  { re: /(?:5|five)[- ]?hours?|(?:5|五)\s*小时/i, class: 'quota', window: 'five_hour' },
  { re: /daily (?:call )?(?:count|limit|quota)|今日调用次数|每日调用/i, class: 'quota', window: 'daily' },
  { re: /usage (?:limit|cap)|使用上限/i, class: 'quota' },
  { re: /arrears|insufficient balance|no resource package|欠费|余额不足/i, class: 'billing' },
  { re: /high traffic|model[^.]{0,30}overloaded|访问量过大/i, class: 'model_congestion' },
  { re: /overload|traffic limit|流量限制|过载/i, class: 'overloaded' },
  { re: /concurrency|并发/i, class: 'concurrency' },
  { re: /frequency|rate limit|频率|速率限制/i, class: 'frequency' },
  { re: /prompt[^.]{0,20}(?:too long|exceeds)|prompt\s*超长/i, class: 'request' },
];
// Only the head of a message is matched: real ones are one sentence; this bounds the regex work.
const MAX_MESSAGE_SCAN = 1024;

const MAX_CODE_DIGITS = 8; // Z.AI codes are 4 digits; the margin keeps the label bounded
const CODE_RE = /^[0-9]{1,8}$/;
// "1302: …", " 1312 busy" and the bracketed "[1310][Weekly/Monthly Limit Exhausted…]" form.
const LEADING_DIGITS_RE = /^[ \t\r\n]*\[?([0-9]+)/;
// Decimal float as a numeric string may spell it (scientific notation allowed); no hex, no Inf.
const NUMERIC_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
// RFC3339 ('T' plus zone) or a naive Beijing wall-clock stamp ('T' or space, no zone).
const STAMP_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
// Z.AI quota messages: "Your limit will reset at 2026-09-06 00:00:00".
const MESSAGE_STAMP_RE = /[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}/;
const RESET_KEYS = [
  'reset_time',
  'resetTime',
  'reset_at',
  'resetAt',
  'next_reset_time',
  'nextResetTime',
  'next_flush_time', // the name in Z.AI's 1308/1310 message templates
  'nextFlushTime',
];
const RETRY_KEYS = ['retry_after', 'retryAfter'];
const MESSAGE_KEYS = ['msg', 'message'];
const CODE_KEYS = ['code'];
const PROVIDER_OFFSET_MS = 8 * 3600_000; // Z.AI stamps are Beijing time, UTC+8, no DST
const MIN_PLAUSIBLE_MS = 1e12; // Unix 1e9 s ≈ 2001
const MAX_PLAUSIBLE_MS = 2e13; // Unix 2e10 s ≈ year 2603: beyond it a stamp is not a real reset
const MAX_RETRY_HINT_SEC = 604800; // 7 days: no Z.AI window is longer

type Members = Map<string, string>; // key → raw JSON text of the value

/** Classifies an upstream error response (status + bounded body): by business code first, then by
 *  message text, then by status. Pure; never throws; never retains provider message text. */
export function classifyZaiError(status: number, body: Buffer | string | null, maxBytes?: number): ZaiError {
  const budget = maxBytes !== undefined && maxBytes > 0 ? maxBytes : DEFAULT_ZAI_ERROR_BODY_BYTES;
  const size = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const result = byStatus(status);
  if (size > budget) {
    result.oversized = true; // never parsed: a misbehaving upstream can't make error handling unbounded
    return result;
  }
  if (body === null || size === 0) return result;
  try {
    readBody(typeof body === 'string' ? body : body.toString('utf8'), result);
  } catch {
    // Unreachable for validated JSON; kept so a parser slip degrades to "by status" instead of throwing.
    return byStatus(status);
  }
  return result;
}

/** A quota error whose body named no reset instant takes it from upstream's `retry-after-ms` /
 *  `Retry-After` hint (Z.AI's Anthropic surface sends the weekly reset only there and in prose). */
export function withHeaderReset(zai: ZaiError, headerRetryAfterMs: number | null, nowMs: number): ZaiError {
  if (zai.class !== 'quota' || zai.resetAtMs !== null || headerRetryAfterMs === null) return zai;
  if (!(headerRetryAfterMs > 0) || !Number.isFinite(nowMs)) return zai;
  const at = nowMs + headerRetryAfterMs;
  return at >= MIN_PLAUSIBLE_MS && at <= MAX_PLAUSIBLE_MS ? { ...zai, resetAtMs: at } : zai;
}

/** Bounded label value for the `code` label of zai_proxy_zai_errors_total: the known codes as themselves, any other recovered code → 'other', none → 'none'. */
export function codeLabel(code: string | null): string {
  if (code === null || code === '') return 'none';
  return ZAI_CODES.has(code) ? code : 'other';
}

// The result when the body names no known code and no known wording: the status is all there is.
function byStatus(status: number): ZaiError {
  let cls: ZaiErrorClass = 'unknown';
  if (status === 401 || status === 403) cls = 'auth';
  else if (status === 529) cls = 'overloaded'; // Anthropic-style "overloaded" status
  return {
    class: cls,
    code: null,
    basis: 'status',
    quotaWindow: null,
    resetAtMs: null,
    retryAfterSec: null,
    oversized: false,
  };
}

// Fills code/class/reset/retry from the body. A JSON object is read field by field; text that is
// not JSON at all (it does not open with '{') is read as one message, for the bracketed
// "[1310][…]" form some surfaces send bare. Truncated JSON is left to the status.
function readBody(text: string, out: ZaiError): void {
  let top: unknown;
  try {
    top = JSON.parse(text); // validates once; the raw walk below relies on well-formed input
  } catch {
    if (text.trimStart().charCodeAt(0) !== 0x7b) {
      readMessage(text, out);
      out.resetAtMs = resetFromMessage(text);
    }
    return;
  }
  if (top === null || typeof top !== 'object' || Array.isArray(top)) return;
  const outer = objectMembers(text, text.indexOf('{'));
  const errRaw = outer.get('error');
  // A null, string or array `error` is ignored so the top level is still searched.
  const inner = errRaw !== undefined && errRaw.charCodeAt(0) === 0x7b ? objectMembers(errRaw, 0) : null;
  const msgRaw = lookup(inner, outer, MESSAGE_KEYS);
  const msg = msgRaw === undefined ? null : unquote(msgRaw);

  const code = normaliseCode(lookup(inner, outer, CODE_KEYS));
  if (code !== null) {
    out.code = code;
    applyCode(code, out);
  }
  if (msg !== null) readMessage(msg, out);

  // Reset metadata is independent of the class: an unknown code with a reset is still useful.
  const resetRaw = lookup(inner, outer, RESET_KEYS);
  if (resetRaw !== undefined) out.resetAtMs = resetFromRaw(resetRaw);
  if (out.resetAtMs === null && msg !== null) out.resetAtMs = resetFromMessage(msg);
  const retryRaw = lookup(inner, outer, RETRY_KEYS);
  if (retryRaw !== undefined) out.retryAfterSec = retryHintFromRaw(retryRaw);
}

// A known code decides the class (over the status and any wording).
function applyCode(code: string, out: ZaiError): boolean {
  const row = ZAI_CODES.get(code);
  if (row === undefined) return false;
  out.class = row.class;
  out.basis = 'code';
  out.quotaWindow = row.window ?? null;
  return true;
}

// Message text: a leading known code when no `code` field gave one (an explicit field always wins,
// and prose that starts with a number never becomes a code), then the wording when no known code
// decided the class. A bare-text body also yields its reset stamp here.
function readMessage(msg: string, out: ZaiError): void {
  if (out.basis === 'code') return;
  if (out.code === null) {
    const code = codeFromMessage(msg);
    if (code !== null) {
      out.code = code;
      applyCode(code, out);
      return;
    }
  }
  const head = msg.length > MAX_MESSAGE_SCAN ? msg.slice(0, MAX_MESSAGE_SCAN) : msg;
  for (const rule of MESSAGE_RULES) {
    if (rule.re.test(head)) {
      out.class = rule.class;
      out.basis = 'message';
      out.quotaWindow = rule.window ?? null;
      break;
    }
  }
}

// First present key, nested `error` object before the top level (the most specific envelope wins).
function lookup(inner: Members | null, outer: Members, keys: readonly string[]): string | undefined {
  if (inner !== null) {
    for (const key of keys) {
      const raw = inner.get(key);
      if (raw !== undefined) return raw;
    }
  }
  for (const key of keys) {
    const raw = outer.get(key);
    if (raw !== undefined) return raw;
  }
  return undefined;
}

// Raw-text member map of the JSON object opening at `open` (input already validated by JSON.parse).
// Raw text is kept so a numeric code written `1302.0` or `1.302e3` is not mistaken for '1302'.
// Duplicate keys: the last wins, as with JSON.parse.
function objectMembers(s: string, open: number): Members {
  const members: Members = new Map();
  let i = skipWs(s, open + 1);
  while (i < s.length && s.charCodeAt(i) !== 0x7d) {
    const keyEnd = valueEnd(s, i);
    const key = JSON.parse(s.slice(i, keyEnd)) as string;
    const start = skipWs(s, skipWs(s, keyEnd) + 1); // past ':'
    const end = valueEnd(s, start);
    members.set(key, s.slice(start, end));
    const next = skipWs(s, end);
    if (next <= i) break; // no progress: cannot happen for valid JSON, but never loop forever
    i = s.charCodeAt(next) === 0x2c ? skipWs(s, next + 1) : next; // past ','
  }
  return members;
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

// End index (exclusive) of the JSON value starting at i: iterative, so nesting depth can't blow the stack.
function valueEnd(s: string, i: number): number {
  let depth = 0;
  let inString = false;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (inString) {
      if (c === 0x5c) {
        j++; // skip the escaped character
      } else if (c === 0x22) {
        inString = false;
        if (depth === 0) return j + 1;
      }
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return j; // closing bracket of the enclosing container
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d)) return j;
  }
  return s.length;
}

// String content of a raw JSON string, or the raw token text for numbers and other literals.
function unquote(raw: string): string {
  return raw.charCodeAt(0) === 0x22 ? (JSON.parse(raw) as string) : raw;
}

// A code is 1–8 ASCII digits after trimming (no sign, decimal point or exponent), else dropped.
function normaliseCode(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const s = unquote(raw).trim();
  return CODE_RE.test(s) ? s : null;
}

function codeFromMessage(msg: string): string | null {
  const m = LEADING_DIGITS_RE.exec(msg);
  if (m === null) return null;
  const digits = m[1]!;
  return digits.length <= MAX_CODE_DIGITS && ZAI_CODES.has(digits) ? digits : null;
}

// Number or numeric string; null when it is neither.
function numberFromRaw(raw: string): number | null {
  const s = unquote(raw).trim();
  return NUMERIC_RE.test(s) ? Number(s) : null;
}

// Epoch ms (≥ 1e12) or s (≥ 1e9), an RFC3339 stamp, or a naive UTC+8 stamp; implausible → null.
function resetFromRaw(raw: string): number | null {
  const v = numberFromRaw(raw);
  if (v !== null) {
    let ms: number;
    if (v >= 1e12) ms = v;
    else if (v >= 1e9) ms = v * 1000;
    else return null; // small numbers and negatives are not epochs
    return ms <= MAX_PLAUSIBLE_MS ? Math.floor(ms) : null; // never clamped: a wrong reset is worse than none
  }
  return parseStamp(unquote(raw).trim());
}

// The message carries one stamp in practice, so an implausible first match is not mined further.
function resetFromMessage(msg: string): number | null {
  const m = MESSAGE_STAMP_RE.exec(msg);
  return m === null ? null : parseStamp(m[0]);
}

function parseStamp(s: string): number | null {
  const m = STAMP_RE.exec(s);
  if (m === null) return null;
  const zone = m[9];
  if (zone !== undefined && m[4] !== 'T') return null; // RFC3339 requires 'T'
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[5]);
  const mi = Number(m[6]);
  const sec = Number(m[7]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return null;
  let offsetMs = PROVIDER_OFFSET_MS;
  if (zone === 'Z') offsetMs = 0;
  else if (zone !== undefined) {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMs = (zone[0] === '-' ? -1 : 1) * (oh * 3600_000 + om * 60_000);
  }
  const fracMs = m[8] === undefined ? 0 : Number(m[8].slice(0, 3).padEnd(3, '0'));
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec, fracMs) - offsetMs;
  return ms >= MIN_PLAUSIBLE_MS && ms <= MAX_PLAUSIBLE_MS ? ms : null;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// Seconds in (0, 7 days]; non-positive, NaN, ±Inf or longer hints are absent.
function retryHintFromRaw(raw: string): number | null {
  const v = numberFromRaw(raw);
  if (v === null || !Number.isFinite(v) || v <= 0 || v > MAX_RETRY_HINT_SEC) return null;
  return v;
}
