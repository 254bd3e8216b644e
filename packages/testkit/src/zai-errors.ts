/** Z.AI business errors (1302, 1308, ...) in the three body envelopes Z.AI is known to send. */
import { anthropicErrorType } from './error-envelopes.ts';
import type { ScenarioSpec } from './scenarios.ts';

const HOUR_MS = 3_600_000;
const BEIJING_OFFSET_MS = 8 * HOUR_MS; // Z.AI prints reset times in UTC+8 without a zone
const DEFAULT_HTTP_DATE_DELAY_S = 5;

// Z.AI's English messages as seen in the wild; quota ones carry the reset time in prose.
const DEFAULT_MESSAGES: Readonly<Record<string, (resetAt: string) => string>> = {
  '1302': () =>
    'High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits',
  '1303': () =>
    'High frequency usage of this API, please reduce frequency or contact customer service to increase limits',
  '1305': () => 'The service may be temporarily overloaded, please try again later',
  '1308': (r) => `Usage limit reached for 5 hour. Your limit will reset at ${r}`,
  '1310': (r) => `Weekly/Monthly Limit Exhausted. Your limit will reset at ${r}`,
  '1312': () => 'The model is currently experiencing high traffic. Please try again later.',
  '1113': () => 'Insufficient balance or no resource package. Please recharge.',
};

export interface ZaiErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Formats an instant the way Z.AI's messages do: naive `YYYY-MM-DD HH:MM:SS` in UTC+8. */
export function beijingTime(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

// The instant a `reset=` value stands for, so the default message can name the same moment.
function resetInstant(reset: string | undefined, now: number): number {
  if (reset === undefined) return now + HOUR_MS;
  if (reset.startsWith('+')) return now + Number(reset.slice(1)) * 1000;
  const n = Number(reset);
  if (Number.isFinite(n)) return n >= 1e12 ? n : n * 1000;
  const naive = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})$/.exec(reset);
  if (naive) return Date.parse(`${naive[1]}T${naive[2]}Z`) - BEIJING_OFFSET_MS;
  const parsed = Date.parse(reset);
  return Number.isNaN(parsed) ? now + HOUR_MS : parsed;
}

// Numeric text goes out as a JSON number, like Z.AI's numeric fields; anything else verbatim.
function jsonValue(v: string): number | string {
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

/** The default message for a business code. */
export function zaiMessage(code: string, resetAtMs: number): string {
  const make = DEFAULT_MESSAGES[code];
  return make === undefined ? `sim: Z.AI business error ${code}` : make(beijingTime(resetAtMs));
}

/** Builds the zai_error response for a spec (defaults: 429, code 1302, nested envelope). */
export function zaiError(spec: ScenarioSpec, now: number = Date.now()): ZaiErrorResponse {
  const status = spec.status ?? 429;
  const code = spec.code ?? '1302';
  const message = spec.msg ?? zaiMessage(code, resetInstant(spec.reset, now));

  // Fields beside the code, wherever the envelope keeps it.
  const extra: Record<string, unknown> = {};
  if (spec.retryAfterBody !== undefined) extra.retry_after = jsonValue(spec.retryAfterBody);
  if (spec.reset !== undefined) {
    extra[spec.resetField ?? 'reset_time'] = spec.reset.startsWith('+')
      ? resetInstant(spec.reset, now)
      : jsonValue(spec.reset);
  }

  let body: unknown;
  switch (spec.envelope ?? 'nested') {
    case 'nested':
      body = { error: { code, message, ...extra } };
      break;
    case 'flat':
      body = { code: /^\d+$/.test(code) ? Number(code) : code, msg: message, success: false, ...extra };
      break;
    case 'anthropic':
      body = { type: 'error', error: { type: anthropicErrorType(status), code, message, ...extra } };
      break;
  }

  const headers: Record<string, string> = {};
  if (spec.retryAfterHttpDate === true) {
    const seconds = Number(spec.retryAfterHeader ?? DEFAULT_HTTP_DATE_DELAY_S);
    const delay = Number.isFinite(seconds) ? seconds : DEFAULT_HTTP_DATE_DELAY_S;
    headers['retry-after'] = new Date(now + delay * 1000).toUTCString();
  } else if (spec.retryAfterHeader !== undefined) {
    headers['retry-after'] = spec.retryAfterHeader;
  }
  return { status, headers, body: JSON.stringify(body) };
}
