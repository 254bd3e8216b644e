// Streamed text of an SSE response: its first chunks kept as they are, parsed for their text only on demand.
//
// Streamed text is needed only when a stream ends without usage, which Z.AI nearly never does, so nothing
// is parsed for it while the stream flows. Anthropic: content_block_delta text, thinking and partial_json.
// OpenAI: choices[].delta content, reasoning_content and tool-call names and arguments.

import { asObject, parseObject } from '../json.ts';
import { type EventNames, lineHas, needle } from './byte-match.ts';
import {
  createSseState,
  DATA_ASK,
  DATA_KEEP,
  DATA_SKIP,
  type DataWant,
  endSse,
  feedSse,
  type SseHooks,
  type SseState,
} from './sse-parser.ts';

/** The stream's first bytes (counted in BYTES, whatever the name says) are kept for outputText(), as
 *  references to the upstream chunks; past this bound only their size is counted and the estimate scaled.
 *  Parsing every delta as it streamed was the largest cost of counting (~13 % of proxy CPU on SSE), and
 *  decoding each line to keep it unparsed was still +33 % CPU per stream. */
export const DEFERRED_DATA_CHARS = 256 * 1024; // bytes

/** Charged per kept chunk against the bound, so a stream of tiny chunks stays bounded too. */
const KEPT_CHUNK_COST = 128; // bytes: a Buffer object, its backing store's header and a list slot, roughly

/** The kept prefix of one stream and how to read it. Fields of the observer itself, so a request still
 *  allocates one state object. */
export interface KeptStream {
  readonly reader: {
    readonly names: EventNames;
    /** Hooks that collect the text of the events of one API. */
    readonly text: SseHooks<string[]>;
  };
  /** The stream's first chunks, whole, in order (the last one possibly a cut copy); see keepChunk(). */
  readonly kept: Buffer[];
  keptBytes: number;
  /** Bytes past the retention bound; non-zero once it was reached (nothing is kept after that). */
  beyondBytes: number;
}

/** Keeps a prefix of the stream for outputText(): whole chunks by reference (they are immutable and were
 *  forwarded already) while they fit; of the chunk that crosses the bound, a copy of what fits. */
export function keepChunk(o: KeptStream, chunk: Buffer): void {
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
export function outputText(o: KeptStream): { text: string; scale: number } {
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

// --- Anthropic -------------------------------------------------------------------------------------

// For a stream without event names (or an unknown name) a byte search of the line keeps pings and block
// events undecoded.
const CONTENT_BLOCK_DELTA = needle('"content_block_delta"');

/** Collects the text of Anthropic content_block_delta events. */
export const ANTHROPIC_TEXT: SseHooks<string[]> = { wantData: wantAnthropicText, onEvent: onAnthropicText };

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

/** Collects the text of OpenAI chunks. */
export const OPENAI_TEXT: SseHooks<string[]> = { wantData: () => DATA_KEEP, onEvent: onOpenAiText };

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
