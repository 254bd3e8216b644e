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
// the first chunks are kept as they are and parsed again, for their text, only in outputText()
// (stream-text.ts).

import { asObject, parseObject } from '../json.ts';
import { type EventNames, eventNames, lineHas, needle } from './byte-match.ts';
import { appendBytes, consumeBytes, createGrowBuffer } from './grow-buffer.ts';
import {
  abandonEvent,
  createSseState,
  DATA_ASK,
  DATA_KEEP,
  DATA_SKIP,
  type DataWant,
  endSse,
  feedSse,
  MAX_LINE_BYTES,
  type SseHooks,
  type SseState,
} from './sse-parser.ts';
import { ANTHROPIC_TEXT, type KeptStream, keepChunk, OPENAI_TEXT, outputText } from './stream-text.ts';
import type { ApiFamily, Usage } from './types.ts';
import { mergeAnthropicUsage, openAiUsage } from './usage-fields.ts';

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
   *  factor to scale its count by when more streamed than was kept (stream-text's DEFERRED_DATA_CHARS). */
  outputText(): { text: string; scale: number };
}

/** Options of one observer. */
export interface StreamObserverOptions {
  /** OpenAI only: remove the usage-only chunk the proxy asked for on the client's behalf. */
  stripUsageChunk: boolean;
}

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
class PassThroughObserver implements StreamObserver, KeptStream {
  readonly sse: SseState;
  usage: Usage | null = null;
  /** The stream's first chunks, whole, in order (the last one possibly a cut copy); see keepChunk(). */
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
    keepChunk(this, chunk);
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
    keepChunk(this, chunk);
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

// --- Anthropic -------------------------------------------------------------------------------------

// Anthropic and Z.AI name every event, so the name decides without touching the payload; for a stream
// without names (or an unknown name) a byte search of the line keeps pings and block events undecoded.
const MESSAGE_ = needle('"message_');

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
  text: ANTHROPIC_TEXT,
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

// --- OpenAI ----------------------------------------------------------------------------------------

const USAGE = needle('"usage"');

const OPENAI: ApiReader = {
  names: eventNames([]), // OpenAI streams have no event lines
  usage: { wantData: wantOpenAiUsage, onEvent: onOpenAiUsage },
  text: OPENAI_TEXT,
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
