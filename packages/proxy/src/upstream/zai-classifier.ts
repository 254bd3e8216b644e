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
  | 'quota'
  | 'model_congestion'
  | 'billing'
  | 'auth'
  | 'overloaded'
  | 'unknown';

/** Safe, bounded summary of one upstream error response. */
export interface ZaiError {
  class: ZaiErrorClass;
  /** 1–8 ASCII digits as recovered (e.g. '1302', '9999'); null if none. */
  code: string | null;
  /** Reset instant (Unix ms) from a reset field or a message stamp, plausibility-bounded. */
  resetAtMs: number | null;
  /** Body retry_after/retryAfter hint in seconds, in (0, 604800]. */
  retryAfterSec: number | null;
  /** The body exceeded the budget and was not parsed. */
  oversized: boolean;
}

/** Body budget when the caller passes none: real Z.AI errors are well under 1 KiB. */
export const DEFAULT_ZAI_ERROR_BODY_BYTES = 32768; // 32 KiB

// Business code → class. Sources: docs.z.ai api-code page and issue reports (peers.md §5i).
const CODE_CLASS: ReadonlyMap<string, ZaiErrorClass> = new Map<string, ZaiErrorClass>([
  ['1113', 'billing'], // account in arrears, also a coding-plan key on the general endpoint
  ['1302', 'concurrency'], // too many requests in flight for the account
  ['1303', 'frequency'], // short-horizon request rate
  ['1305', 'frequency'], // rate/overload pressure (also seen on HTTP 529)
  ['1308', 'quota'], // five-hour quota window spent
  ['1310', 'quota'], // weekly/monthly quota window spent
  ['1312', 'model_congestion'], // the model is busy, not this account
]);

const MAX_CODE_DIGITS = 8; // Z.AI codes are 4 digits; the margin keeps the label bounded
const CODE_RE = /^[0-9]{1,8}$/;
const LEADING_DIGITS_RE = /^[ \t\r\n]*([0-9]+)/;
// Decimal float as a numeric string may spell it (scientific notation allowed); no hex, no Inf.
const NUMERIC_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
// RFC3339 ('T' plus zone) or a naive Beijing wall-clock stamp ('T' or space, no zone).
const STAMP_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
// Z.AI quota messages: "Your limit will reset at 2026-09-06 00:00:00".
const MESSAGE_STAMP_RE = /[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}/;
const RESET_KEYS = ['reset_time', 'resetTime', 'reset_at', 'resetAt', 'next_reset_time', 'nextResetTime'];
const RETRY_KEYS = ['retry_after', 'retryAfter'];
const MESSAGE_KEYS = ['msg', 'message'];
const CODE_KEYS = ['code'];
const PROVIDER_OFFSET_MS = 8 * 3600_000; // Z.AI stamps are Beijing time, UTC+8, no DST
const MIN_PLAUSIBLE_MS = 1e12; // Unix 1e9 s ≈ 2001
const MAX_PLAUSIBLE_MS = 2e13; // Unix 2e10 s ≈ year 2603: beyond it a stamp is not a real reset
const MAX_RETRY_HINT_SEC = 604800; // 7 days: no Z.AI window is longer

type Members = Map<string, string>; // key → raw JSON text of the value

/** Classifies an upstream error response (status + bounded body). Pure; never throws; never retains provider message text. */
export function classifyZaiError(status: number, body: Buffer | string | null, maxBytes?: number): ZaiError {
  const budget = maxBytes !== undefined && maxBytes > 0 ? maxBytes : DEFAULT_ZAI_ERROR_BODY_BYTES;
  const size = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const result: ZaiError = {
    class: classFromStatus(status),
    code: null,
    resetAtMs: null,
    retryAfterSec: null,
    oversized: false,
  };
  if (size > budget) {
    result.oversized = true; // never parsed: a misbehaving upstream can't make error handling unbounded
    return result;
  }
  if (body === null || size === 0) return result;
  try {
    readBody(typeof body === 'string' ? body : body.toString('utf8'), result);
  } catch {
    // Unreachable for validated JSON; kept so a parser slip degrades to "by status" instead of throwing.
    result.code = null;
    result.resetAtMs = null;
    result.retryAfterSec = null;
    result.class = classFromStatus(status);
  }
  return result;
}

/** Bounded label value for the `code` label of zai_proxy_zai_errors_total: the known codes as themselves, any other recovered code → 'other', none → 'none'. */
export function codeLabel(code: string | null): string {
  if (code === null || code === '') return 'none';
  return CODE_CLASS.has(code) ? code : 'other';
}

// Class when the body names no known code: the status is all there is.
function classFromStatus(status: number): ZaiErrorClass {
  if (status === 401 || status === 403) return 'auth';
  if (status === 529) return 'overloaded'; // Anthropic-style "overloaded" status
  return 'unknown';
}

// Fills code/class/reset/retry from a JSON object body; anything else leaves the status class.
function readBody(text: string, out: ZaiError): void {
  let top: unknown;
  try {
    top = JSON.parse(text); // validates once; the raw walk below relies on well-formed input
  } catch {
    return; // truncated, binary, SSE-prefixed…
  }
  if (top === null || typeof top !== 'object' || Array.isArray(top)) return;
  const outer = objectMembers(text, text.indexOf('{'));
  const errRaw = outer.get('error');
  // A null, string or array `error` is ignored so the top level is still searched.
  const inner = errRaw !== undefined && errRaw.charCodeAt(0) === 0x7b ? objectMembers(errRaw, 0) : null;

  let code = normaliseCode(lookup(inner, outer, CODE_KEYS));
  if (code === null) {
    // Some endpoints lead the message with the code; only a known code counts, so prose that
    // starts with a number never becomes one. An explicit `code` field always wins.
    const msg = lookup(inner, outer, MESSAGE_KEYS);
    if (msg !== undefined) code = codeFromMessage(unquote(msg));
  }
  if (code !== null) {
    out.code = code;
    const cls = CODE_CLASS.get(code);
    if (cls !== undefined) out.class = cls; // a recognised code wins over the status
  }

  // Reset metadata is independent of the class: an unknown code with a reset is still useful.
  const resetRaw = lookup(inner, outer, RESET_KEYS);
  if (resetRaw !== undefined) out.resetAtMs = resetFromRaw(resetRaw);
  if (out.resetAtMs === null) {
    const msg = lookup(inner, outer, MESSAGE_KEYS);
    if (msg !== undefined) out.resetAtMs = resetFromMessage(unquote(msg));
  }
  const retryRaw = lookup(inner, outer, RETRY_KEYS);
  if (retryRaw !== undefined) out.retryAfterSec = retryHintFromRaw(retryRaw);
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
  return digits.length <= MAX_CODE_DIGITS && CODE_CLASS.has(digits) ? digits : null;
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
