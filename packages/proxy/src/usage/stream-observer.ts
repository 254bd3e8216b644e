// Watches an upstream SSE response for reported usage and streamed text, forwarding bytes untouched.
//
// Anthropic: usage comes from message_start (message.usage) and message_delta (usage); the LAST value
// reported for each field wins and the two are never summed. Z.AI sends zeros in message_start and the
// real counts, cache reads included, only in message_delta (zai-org/GLM-5#139); summing double-counts
// (Bifrost #5354, Envoy AI GW PR #2239).
// OpenAI: usage rides on one chunk, normally the final `choices: []` one that
// `stream_options.include_usage` asks for; prompt_tokens there includes cached tokens.
//
// Only the payloads that can carry usage are decoded and parsed as the stream goes (2 per Anthropic
// stream). Streamed text is needed only when a stream ends without usage, which Z.AI nearly never does:
// the first chunks are kept as they are and parsed again, for their text, only in outputText().

import { appendBytes, consumeBytes, createGrowBuffer } from './grow-buffer.ts';
import {
  abandonEvent,
  createSseState,
  DATA_ASK,
  DATA_KEEP,
  DATA_SKIP,
  type DataWant,
  type EventNames,
  endSse,
  eventNames,
  feedSse,
  lineHas,
  MAX_LINE_BYTES,
  needle,
  type SseHooks,
  type SseState,
} from './sse-parser.ts';
import type { ApiFamily, Usage } from './types.ts';
import { asObject, mergeAnthropicUsage, openAiUsage } from './usage-fields.ts';

/** Observes one streamed response; see createStreamObserver. */
export interface StreamObserver {
  /** Feed one upstream chunk (it must not be modified afterwards: it may be kept for outputText()).
   *  Returns the bytes to forward to the client: the SAME Buffer in pass-through mode. Only in strip mode
   *  may it return another buffer (the chunk minus the usage-only OpenAI event), or null when nothing is
   *  to be sent yet. */
  push(chunk: Buffer): Buffer | null;
  /** End of stream: bytes still held back (strip mode only) and what was learned. */
  finish(): StreamResult;
}

/** What a finished stream told: reported usage, and the streamed text for an estimate when it told none. */
export interface StreamResult {
  flush: Buffer | null;
  usage: Usage | null;
  /** The text that streamed (parsed only now, on demand; callable detached from the result) and the
   *  factor to scale its count by when more streamed than was kept (DEFERRED_DATA_CHARS). */
  outputText(): { text: string; scale: number };
}

/** Options of one observer. */
export interface StreamObserverOptions {
  /** OpenAI only: remove the usage-only chunk the proxy asked for on the client's behalf. */
  stripUsageChunk: boolean;
}

/** The stream's first bytes (counted in BYTES, whatever the name says) are kept for outputText(), as
 *  references to the upstream chunks; past this bound only their size is counted and the estimate scaled.
 *  Parsing every delta as it streamed was the largest cost of counting (~13 % of proxy CPU on SSE), and
 *  decoding each line to keep it unparsed was still +33 % CPU per stream. */
export const DEFERRED_DATA_CHARS = 256 * 1024; // bytes

/** Charged per kept chunk against the bound, so a stream of tiny chunks stays bounded too. */
const KEPT_CHUNK_COST = 128; // bytes: a Buffer object, its backing store's header and a list slot, roughly

/** How one API's stream is read: its event names, and hooks for usage (live) and text (on demand). */
interface ApiReader {
  readonly names: EventNames;
  readonly usage: SseHooks<PassThroughObserver>;
  readonly text: SseHooks<string[]>;
}

/** Creates a per-stream observer; the mode is chosen here, not per chunk. */
export function createStreamObserver(api: ApiFamily, opts: StreamObserverOptions): StreamObserver {
  if (api === 'anthropic') return new PassThroughObserver(ANTHROPIC);
  return opts.stripUsageChunk ? new StripObserver() : new PassThroughObserver(OPENAI);
}

// Classes rather than closures: one small state object per request with shared methods (tsx's esbuild
// wraps every named closure in __name(), which showed up at ~4 µs per request).

/** Per-stream state; forwards every chunk as it is. */
class PassThroughObserver implements StreamObserver {
  readonly sse: SseState;
  usage: Usage | null = null;
  /** The stream's first chunks, whole, in order (the last one possibly a cut copy); see keep(). */
  readonly kept: Buffer[] = [];
  keptBytes = 0;
  /** Bytes past the retention bound; non-zero once it was reached (nothing is kept after that). */
  beyondBytes = 0;
  /** Strip mode: [start, end) offset pairs to remove from the forwarded bytes. */
  cuts: number[] | null = null;
  finished = false;

  constructor(readonly reader: ApiReader) {
    this.sse = createSseState(reader.names);
  }

  push(chunk: Buffer): Buffer | null {
    keep(this, chunk);
    feedSse(this.sse, chunk, this.reader.usage, this);
    return chunk;
  }

  finish(): StreamResult {
    if (!this.finished) endSse(this.sse, this.reader.usage, this);
    return this.result(null);
  }

  protected result(flush: Buffer | null): StreamResult {
    this.finished = true;
    const r: StreamResult = { flush, usage: this.usage, outputText: noText };
    // Assigned, not written in the literal: a closure named there gets tsx's __name() wrapper, and
    // bind() measured 670 ns against 20 ns. outputText must work detached (accounting keeps it alone).
    r.outputText = () => outputText(this);
    return r;
  }
}

/** OpenAI strip mode: forwards all but the usage-only event, holding back at most the event in progress. */
class StripObserver extends PassThroughObserver {
  /** Bytes [heldStart, sse.pos) not yet forwarded. */
  readonly held = createGrowBuffer();
  heldStart = 0;

  constructor() {
    super(OPENAI);
    this.cuts = [];
  }

  override push(chunk: Buffer): Buffer | null {
    const s = this.sse;
    const chunkStart = s.pos;
    keep(this, chunk);
    feedSse(s, chunk, OPENAI.usage, this);
    // Hold back only the event in progress (from its first field line, or the partial line before one).
    let fwdEnd = s.broken ? s.pos : s.fieldStart !== -1 ? s.fieldStart : s.pos - s.tail.len;
    if (s.pos - fwdEnd > MAX_LINE_BYTES) {
      abandonEvent(s); // too big to be the usage chunk: stop holding it, never strip it
      fwdEnd = s.pos;
    }
    return emit(this, chunk, chunkStart, fwdEnd);
  }

  override finish(): StreamResult {
    let flush: Buffer | null = null;
    if (!this.finished) {
      endSse(this.sse, OPENAI.usage, this);
      flush = emit(this, EMPTY, this.sse.pos, this.sse.pos);
    }
    return this.result(flush);
  }
}

const EMPTY = Buffer.alloc(0);
const noText = () => ({ text: '', scale: 1 });

// Bytes [heldStart, fwdEnd) minus the cuts go out; [fwdEnd, pos) stay held. Held bytes precede the chunk.
function emit(o: StripObserver, chunk: Buffer, chunkStart: number, fwdEnd: number): Buffer | null {
  const cuts = o.cuts!;
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

/** Keeps a prefix of the stream for outputText(): whole chunks by reference (they are immutable and were
 *  forwarded already) while they fit; of the chunk that crosses the bound, a copy of what fits. */
function keep(o: PassThroughObserver, chunk: Buffer): void {
  const n = chunk.length;
  if (o.beyondBytes > 0) {
    o.beyondBytes += n;
    return;
  }
  if (n === 0) return;
  const room = DEFERRED_DATA_CHARS - o.keptBytes - (o.kept.length + 1) * KEPT_CHUNK_COST;
  if (n <= room) {
    o.kept.push(chunk);
    o.keptBytes += n;
    return;
  }
  if (room > 0) {
    const part = Buffer.allocUnsafe(room); // a view would pin the whole chunk
    chunk.copy(part, 0, 0, room);
    o.kept.push(part);
    o.keptBytes += room;
  }
  o.beyondBytes = n - Math.max(room, 0);
}

/** Parses the kept prefix for its text (only when an estimate is wanted). When the stream went past the
 *  bound, the text comes from the complete events kept, and scale = all bytes ÷ the bytes of those. */
function outputText(o: PassThroughObserver): { text: string; scale: number } {
  const reader = o.reader;
  const parts: string[] = [];
  const s = createSseState(reader.names);
  for (const c of o.kept) feedSse(s, c, reader.text, parts);
  let counted = o.keptBytes;
  if (o.beyondBytes === 0) endSse(s, reader.text, parts);
  else counted = s.eventEnd; // the event the cut went through is counted as past the bound
  return { text: parts.join(''), scale: counted === 0 ? 1 : (o.keptBytes + o.beyondBytes) / counted };
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

// Anthropic and Z.AI name every event, so the name decides without touching the payload; for a stream
// without names (or an unknown name) a byte search of the line keeps pings and block events undecoded.
const MESSAGE_ = needle('"message_');
const CONTENT_BLOCK_DELTA = needle('"content_block_delta"');

const ANTHROPIC: ApiReader = {
  names: eventNames([
    'content_block_delta',
    'message_start',
    'message_delta',
    'message_stop',
    'content_block_start',
    'content_block_stop',
    'ping',
    'error',
  ]),
  usage: { wantData: wantAnthropicUsage, onEvent: onAnthropicUsage },
  text: { wantData: wantAnthropicText, onEvent: onAnthropicText },
};

function wantAnthropicUsage(_o: unknown, s: SseState, buf: Buffer, from: number, to: number): DataWant {
  switch (s.event) {
    case 'message_start':
    case 'message_delta':
      return DATA_KEEP;
    case 'message_stop':
    case 'content_block_start':
    case 'content_block_delta':
    case 'content_block_stop':
    case 'ping':
      return DATA_SKIP;
    default:
      return lineHas(MESSAGE_, buf, from, to) ? DATA_KEEP : DATA_ASK;
  }
}

function onAnthropicUsage(o: PassThroughObserver, s: SseState): void {
  const ev = parseObject(s.data!);
  if (ev === null) return;
  const type = typeof ev.type === 'string' ? ev.type : s.event;
  if (type === 'message_delta') {
    // Last reported value per field wins: this replaces only the fields message_delta carries.
    o.usage = mergeAnthropicUsage(o.usage, asObject(ev.usage));
  } else if (type === 'message_start') {
    const m = asObject(ev.message);
    if (m !== null) o.usage = mergeAnthropicUsage(o.usage, asObject(m.usage));
  }
}

function wantAnthropicText(_p: unknown, s: SseState, buf: Buffer, from: number, to: number): DataWant {
  switch (s.event) {
    case 'content_block_delta':
      return DATA_KEEP;
    case 'message_start':
    case 'message_delta':
    case 'message_stop':
    case 'content_block_start':
    case 'content_block_stop':
    case 'ping':
      return DATA_SKIP;
    default:
      return lineHas(CONTENT_BLOCK_DELTA, buf, from, to) ? DATA_KEEP : DATA_ASK;
  }
}

/** Text of one Anthropic content_block_delta (text_delta, thinking_delta or input_json_delta). */
function onAnthropicText(parts: string[], s: SseState): void {
  const ev = parseObject(s.data!);
  if (ev === null || ev.type !== 'content_block_delta') return;
  const d = asObject(ev.delta);
  if (d !== null) addText(parts, d.text ?? d.thinking ?? d.partial_json);
}

// --- OpenAI ----------------------------------------------------------------------------------------

const USAGE = needle('"usage"');

const OPENAI: ApiReader = {
  names: eventNames([]), // OpenAI streams have no event lines
  usage: { wantData: wantOpenAiUsage, onEvent: onOpenAiUsage },
  text: { wantData: () => DATA_KEEP, onEvent: onOpenAiText },
};

// Only a chunk that mentions usage is decoded and parsed; normally that is the last one.
function wantOpenAiUsage(_o: unknown, _s: SseState, buf: Buffer, from: number, to: number): DataWant {
  return lineHas(USAGE, buf, from, to) ? DATA_KEEP : DATA_ASK;
}

function onOpenAiUsage(o: PassThroughObserver, s: SseState, end: number): void {
  const ev = parseObject(s.data!);
  if (ev === null) return;
  const u = openAiUsage(asObject(ev.usage)); // `"usage": null` in chunks before the last
  if (u === null) return;
  o.usage = u; // the last chunk carrying usage wins
  const choices = ev.choices;
  if (o.cuts !== null && Array.isArray(choices) && choices.length === 0 && s.fieldStart !== -1) {
    o.cuts.push(s.fieldStart, end);
  }
}

/** Streamed text of one OpenAI chunk: content, reasoning and tool-call names and arguments. */
function onOpenAiText(parts: string[], s: SseState): void {
  const data = s.data!;
  if (data === '[DONE]') return;
  const ev = parseObject(data);
  const choices = ev?.choices;
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
