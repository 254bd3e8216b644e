// Stream liveness: while upstream is silent on a committed SSE stream, the client gets a keepalive
// between whole events, so a client that drops a stream after some seconds of byte silence (Claude
// Code: 180 s, and a "waiting" notice after ~20 s) keeps a turn that Z.AI is still generating and
// will bill. Anthropic streams get Anthropic's own `ping` event, OpenAI streams an SSE comment; both
// are ignored by the official SDKs. The decisions are pure functions of the bytes already forwarded;
// the timer that asks them lives in the attempt.
import type { Metrics } from '../metrics.ts';
import type { ApiFamily } from '../routes/types.ts';

/** Stream keepalives (STREAM_KEEPALIVE_INTERVAL): 0 ms turns them off. */
export interface KeepaliveOptions {
  readonly intervalMs: number;
  /** Counts one keepalive written (zai_proxy_stream_keepalives_total). */
  sent(api: ApiFamily): void;
}

/** The options with the counter's children bound once. */
export function keepaliveOptions(intervalMs: number, m: Metrics): KeepaliveOptions {
  const byApi = {
    anthropic: m.streamKeepalives.labels('anthropic', m.variant),
    openai: m.streamKeepalives.labels('openai', m.variant),
  };
  return { intervalMs, sent: (api) => byApi[api].inc() };
}

/** What is written, per API: a whole event (Anthropic) or a comment and a blank line (OpenAI). */
export const KEEPALIVE_BYTES: Record<ApiFamily, Buffer> = {
  anthropic: Buffer.from('event: ping\ndata: {"type": "ping"}\n\n'),
  openai: Buffer.from(': keepalive\n\n'),
};

/** The event that opens an Anthropic stream; no keepalive goes before it. */
export const STREAM_START: Record<ApiFamily, Buffer | null> = {
  anthropic: Buffer.from('message_start'),
  openai: null, // an SSE comment is valid anywhere between events
};

/** The event after which a stream carries nothing more; no keepalive goes after it. */
const STREAM_END: Record<ApiFamily, Buffer> = {
  anthropic: Buffer.from('message_stop'),
  openai: Buffer.from('[DONE]'),
};

/** Bytes of the forwarded tail looked at: the end events (`message_stop`, `[DONE]`) are far shorter. */
const TAIL_BYTES = 256;

const LF = 0x0a;
const CR = 0x0d;

/** The last TAIL_BYTES bytes written to the client, from its last two writes. */
export function forwardedTail(prev: Buffer | null, last: Buffer): Buffer {
  if (last.length >= TAIL_BYTES || prev === null) return last.subarray(Math.max(0, last.length - TAIL_BYTES));
  const fromPrev = Math.min(prev.length, TAIL_BYTES - last.length);
  return Buffer.concat([prev.subarray(prev.length - fromPrev), last]);
}

/** Index just past the blank line that ends `tail` (tail ends with LF LF or LF CR LF), or -1 when
 *  the client's parser is inside an event (or a line): only then may a keepalive go out. */
function blankLineEnd(tail: Buffer): number {
  const n = tail.length;
  if (n < 2 || tail[n - 1] !== LF) return -1;
  if (tail[n - 2] === LF) return n;
  if (n >= 3 && tail[n - 2] === CR && tail[n - 3] === LF) return n;
  return -1;
}

/** Start of the last event in tail (just past the blank line before it), 0 when that is not in view. */
function lastEventStart(tail: Buffer): number {
  let i = tail.length - 3; // before the final blank line
  while (i > 0) {
    if (tail[i] === LF && (tail[i - 1] === LF || (tail[i - 1] === CR && tail[i - 2] === LF))) return i + 1;
    i--;
  }
  return 0;
}

/**
 * May a keepalive be written now? Only when what the client has received ends with a whole event
 * (never inside one), the stream has started (Anthropic: message_start has gone out) and its last
 * event is not the end of the stream (message_stop, [DONE]).
 */
export function keepaliveAllowed(api: ApiFamily, started: boolean, tail: Buffer): boolean {
  if (!started || blankLineEnd(tail) === -1) return false;
  return tail.indexOf(STREAM_END[api], lastEventStart(tail)) === -1;
}

/** Does this write complete the stream's start (the needle may straddle the previous write)? */
export function startsStream(api: ApiFamily, prev: Buffer | null, b: Buffer): boolean {
  const needle = STREAM_START[api];
  if (needle === null) return true;
  if (b.indexOf(needle) !== -1) return true;
  if (prev === null) return false;
  const k = needle.length - 1;
  const seam = Buffer.concat([prev.subarray(Math.max(0, prev.length - k)), b.subarray(0, k)]);
  return seam.indexOf(needle) !== -1;
}

/** Milliseconds until the next check: the interval counted from the last upstream byte or keepalive. */
export function nextCheckMs(intervalMs: number, sinceActivityMs: number): number {
  return sinceActivityMs >= intervalMs ? intervalMs : intervalMs - sinceActivityMs;
}
