// Watches an upstream SSE response for reported usage and streamed text, forwarding bytes untouched.
//
// Anthropic: usage comes from message_start (message.usage) and message_delta (usage); the LAST value
// reported for each field wins and the two are never summed. Z.AI sends zeros in message_start and the
// real counts, cache reads included, only in message_delta (zai-org/GLM-5#139); summing double-counts
// (Bifrost #5354, Envoy AI GW PR #2239).
// OpenAI: usage rides on one chunk, normally the final `choices: []` one that
// `stream_options.include_usage` asks for; prompt_tokens there includes cached tokens.

import { appendBytes, consumeBytes, createGrowBuffer, type GrowBuffer } from './grow-buffer.ts';
import {
  abandonEvent,
  createSseState,
  endSse,
  feedSse,
  MAX_LINE_BYTES,
  type SseState,
} from './sse-parser.ts';
import type { ApiFamily, Usage } from './types.ts';
import { asObject, mergeAnthropicUsage, openAiUsage } from './usage-fields.ts';

/** Observes one streamed response; see createStreamObserver. */
export interface StreamObserver {
  /** Feed one upstream chunk. Returns the bytes to forward to the client: the SAME Buffer in pass-through
   *  mode. Only in strip mode may it return another buffer (the chunk minus the usage-only OpenAI event),
   *  or null when nothing is to be sent yet. */
  push(chunk: Buffer): Buffer | null;
  /** End of stream: bytes still held back (strip mode only) and what was learned. */
  finish(): StreamResult;
}

/** What a finished stream told: reported usage, and the streamed text for an estimate when it told none. */
export interface StreamResult {
  flush: Buffer | null;
  usage: Usage | null;
  /** The text that streamed (deltas parsed only now, on demand) and the factor to scale its count by
   *  when more streamed than was kept (DEFERRED_DATA_CHARS). */
  outputText(): { text: string; scale: number };
}

/** Options of one observer. */
export interface StreamObserverOptions {
  /** OpenAI only: remove the usage-only chunk the proxy asked for on the client's behalf. */
  stripUsageChunk: boolean;
}

/** Text-delta payloads are kept unparsed up to this many UTF-16 units; beyond it only their size is
 *  counted and the estimate is scaled. Z.AI nearly always reports usage, so parsing every delta as it
 *  streams (and tokenizing its text) was the largest cost of counting: ~13 % of proxy CPU on SSE. */
export const DEFERRED_DATA_CHARS = 256 * 1024;

interface ObserverState {
  readonly sse: SseState;
  readonly api: ApiFamily;
  readonly strip: boolean;
  usage: Usage | null;
  /** Raw `data:` payloads that may carry streamed text, kept for an estimate that is rarely needed. */
  deltas: string[];
  deltaChars: number;
  /** Size of the payloads past DEFERRED_DATA_CHARS, not kept. */
  skippedChars: number;
  // strip mode only: bytes [heldStart, sse.pos) not yet forwarded, and [start, end) pairs to remove
  readonly held: GrowBuffer;
  heldStart: number;
  readonly cuts: number[];
  finished: boolean;
}

/** Creates a per-stream observer; the mode is chosen here, not per chunk. */
export function createStreamObserver(api: ApiFamily, opts: StreamObserverOptions): StreamObserver {
  const o: ObserverState = {
    sse: createSseState(),
    api,
    strip: api === 'openai' && opts.stripUsageChunk,
    usage: null,
    deltas: [],
    deltaChars: 0,
    skippedChars: 0,
    held: createGrowBuffer(),
    heldStart: 0,
    cuts: [],
    finished: false,
  };
  if (api === 'anthropic') {
    return { push: (chunk) => pushAnthropic(o, chunk), finish: () => finishPassThrough(o, onAnthropicEvent) };
  }
  if (!o.strip) {
    return { push: (chunk) => pushOpenAi(o, chunk), finish: () => finishPassThrough(o, onOpenAiEvent) };
  }
  return { push: (chunk) => pushStrip(o, chunk), finish: () => finishStrip(o) };
}

function pushAnthropic(o: ObserverState, chunk: Buffer): Buffer {
  feedSse(o.sse, chunk, onAnthropicEvent, o);
  return chunk;
}

function pushOpenAi(o: ObserverState, chunk: Buffer): Buffer {
  feedSse(o.sse, chunk, onOpenAiEvent, o);
  return chunk;
}

function finishPassThrough(o: ObserverState, onEvent: typeof onOpenAiEvent) {
  if (!o.finished) endSse(o.sse, onEvent, o);
  return { flush: null, usage: result(o), outputText: () => deferredText(o) };
}

function pushStrip(o: ObserverState, chunk: Buffer): Buffer | null {
  const s = o.sse;
  const chunkStart = s.pos;
  feedSse(s, chunk, onOpenAiEvent, o);
  // Hold back only the event in progress (from its first field line, or the partial line before one).
  let fwdEnd = s.broken ? s.pos : s.fieldStart !== -1 ? s.fieldStart : s.pos - s.tail.len;
  if (s.pos - fwdEnd > MAX_LINE_BYTES) {
    abandonEvent(s); // too big to be the usage chunk: stop holding it, never strip it
    fwdEnd = s.pos;
  }
  return emit(o, chunk, chunkStart, fwdEnd);
}

function finishStrip(o: ObserverState) {
  let flush: Buffer | null = null;
  if (!o.finished) {
    endSse(o.sse, onOpenAiEvent, o);
    flush = emit(o, EMPTY, o.sse.pos, o.sse.pos);
  }
  return { flush, usage: result(o), outputText: () => deferredText(o) };
}

const EMPTY = Buffer.alloc(0);

// Bytes [heldStart, fwdEnd) minus the cuts go out; [fwdEnd, pos) stay held. Held bytes precede the chunk.
function emit(o: ObserverState, chunk: Buffer, chunkStart: number, fwdEnd: number): Buffer | null {
  const cuts = o.cuts;
  if (o.held.len === 0 && cuts.length === 0 && fwdEnd === o.sse.pos) return chunk.length > 0 ? chunk : null;
  const out: Buffer[] = [];
  let viewsHeld = false;
  if (o.held.len > 0) {
    viewsHeld = pushRange(out, o.held.buf, o.heldStart, o.heldStart, Math.min(chunkStart, fwdEnd), cuts);
  }
  pushRange(out, chunk, chunkStart, Math.max(chunkStart, o.heldStart), fwdEnd, cuts);
  // Copy before the held buffer is reused below; a lone view of the chunk can go out as it is.
  const result = out.length === 0 ? null : out.length === 1 && !viewsHeld ? out[0]! : Buffer.concat(out);
  if (fwdEnd >= chunkStart) {
    consumeBytes(o.held, o.held.len);
    appendBytes(o.held, chunk, fwdEnd - chunkStart, chunk.length);
  } else {
    consumeBytes(o.held, fwdEnd - o.heldStart);
    appendBytes(o.held, chunk, 0, chunk.length);
  }
  o.heldStart = fwdEnd;
  cuts.length = 0;
  return result;
}

// Pushes views of src (which starts at absolute offset srcStart) covering [from, to) minus cuts.
function pushRange(out: Buffer[], src: Buffer, srcStart: number, from: number, to: number, cuts: number[]) {
  let x = from;
  let pushed = false;
  for (let i = 0; i < cuts.length; i += 2) {
    const cs = cuts[i]!;
    const ce = cuts[i + 1]!;
    if (ce <= x || cs >= to) continue;
    if (cs > x) {
      out.push(src.subarray(x - srcStart, cs - srcStart));
      pushed = true;
    }
    x = ce;
  }
  if (x < to) {
    out.push(src.subarray(x - srcStart, to - srcStart));
    pushed = true;
  }
  return pushed;
}

function result(o: ObserverState): Usage | null {
  o.finished = true;
  return o.usage;
}

/** Keeps a payload that may carry streamed text, unparsed, within the memory bound. */
function defer(o: ObserverState, data: string): void {
  if (o.deltaChars + data.length > DEFERRED_DATA_CHARS) {
    o.skippedChars += data.length;
    return;
  }
  o.deltas.push(data);
  o.deltaChars += data.length;
}

/** Parses the kept payloads for their text (once, only when an estimate is wanted). */
function deferredText(o: ObserverState): { text: string; scale: number } {
  const parts: string[] = [];
  const collect = o.api === 'anthropic' ? anthropicDeltaText : openAiDeltaText;
  for (const data of o.deltas) {
    const ev = parseObject(data);
    if (ev !== null) collect(ev, parts);
  }
  o.deltas = [];
  const scale = o.deltaChars === 0 ? 1 : (o.deltaChars + o.skippedChars) / o.deltaChars;
  return { text: parts.join(''), scale };
}

function addText(parts: string[], t: unknown): void {
  if (typeof t === 'string' && t.length > 0) parts.push(t);
}

function parseObject(data: string): Record<string, unknown> | null {
  try {
    return asObject(JSON.parse(data));
  } catch {
    return null;
  }
}

// --- Anthropic -------------------------------------------------------------------------------------

// The `event:` line (always sent by Anthropic and Z.AI) decides without touching the payload;
// for streams without it a substring check keeps JSON.parse off pings and block starts/stops.
const USEFUL_EVENTS = new Set(['content_block_delta', 'message_delta', 'message_start']);
const IGNORED_EVENTS = new Set(['ping', 'content_block_start', 'content_block_stop', 'message_stop']);

function mayMatter(data: string): boolean {
  return (
    data.includes('"content_block_delta"') ||
    data.includes('"message_delta"') ||
    data.includes('"message_start"')
  );
}

function onAnthropicEvent(o: ObserverState, s: SseState): void {
  const data = s.data!;
  const name = s.event;
  if (name === 'content_block_delta' || (name === '' && data.includes('"content_block_delta"'))) {
    defer(o, data); // text, thinking or tool input: parsed only if an estimate is ever needed
    return;
  }
  if (!USEFUL_EVENTS.has(name) && (IGNORED_EVENTS.has(name) || !mayMatter(data))) return;
  const ev = parseObject(data);
  if (ev === null) return;
  const type = typeof ev.type === 'string' ? ev.type : name;
  if (type === 'message_delta') {
    // Last reported value per field wins: this replaces only the fields message_delta carries.
    o.usage = mergeAnthropicUsage(o.usage, asObject(ev.usage));
  } else if (type === 'message_start') {
    const m = asObject(ev.message);
    if (m !== null) o.usage = mergeAnthropicUsage(o.usage, asObject(m.usage));
  } else if (type === 'content_block_delta') {
    defer(o, data); // named otherwise by its event line, but a delta all the same
  }
}

/** Text of one Anthropic content_block_delta (text_delta, thinking_delta or input_json_delta). */
function anthropicDeltaText(ev: Record<string, unknown>, parts: string[]): void {
  if (ev.type !== 'content_block_delta') return;
  const d = asObject(ev.delta);
  if (d !== null) addText(parts, d.text ?? d.thinking ?? d.partial_json);
}

// --- OpenAI ----------------------------------------------------------------------------------------

function onOpenAiEvent(o: ObserverState, s: SseState, end: number): void {
  const data = s.data!;
  if (data === '[DONE]') return;
  defer(o, data); // every chunk may carry streamed text: kept, parsed only if an estimate is needed
  // Only a chunk that mentions usage is parsed now; normally that is the last one.
  if (!data.includes('"usage"')) return;
  const ev = parseObject(data);
  if (ev === null) return;
  const u = openAiUsage(asObject(ev.usage)); // `"usage": null` in chunks before the last
  if (u === null) return;
  o.usage = u; // the last chunk carrying usage wins
  const choices = ev.choices;
  if (o.strip && Array.isArray(choices) && choices.length === 0 && s.fieldStart !== -1) {
    o.cuts.push(s.fieldStart, end);
  }
}

/** Streamed text of one OpenAI chunk: content, reasoning and tool-call names and arguments. */
function openAiDeltaText(ev: Record<string, unknown>, parts: string[]): void {
  const choices = ev.choices;
  if (!Array.isArray(choices)) return;
  for (const c of choices) {
    const d = asObject(asObject(c)?.delta);
    if (d === null) continue;
    addText(parts, d.content);
    addText(parts, d.reasoning_content);
    const calls = d.tool_calls;
    if (!Array.isArray(calls)) continue;
    for (const call of calls) {
      const f = asObject(asObject(call)?.function);
      if (f === null) continue;
      addText(parts, f.name);
      addText(parts, f.arguments);
    }
  }
}
