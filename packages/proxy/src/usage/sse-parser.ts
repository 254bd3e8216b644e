// Incremental text/event-stream framing: any chunking in, whole events out, bounded memory.
//
// One SseState per stream; feedSse() scans only the new bytes for line ends and hands each line on as
// offsets into the chunk: no view and no string per line. `event:` names are matched on bytes against a
// table built at module load. A `data:` payload is decoded only when the caller's wantData hook asks for
// it, so an observer that needs 2 events of a stream decodes 2 payloads (a CPU profile had the per-line
// views and strings as the main cost of observing a stream).
// Supported: LF and CRLF line ends, multi-line `data:`, `data:` with or without the space, `:` comments,
// `event:` lines. A lone CR as line end (allowed by the SSE spec, sent by no LLM API) is not.
import { type EventNames, knownName } from './byte-match.ts';
import { appendBytes, clearBytes, createGrowBuffer, type GrowBuffer } from './grow-buffer.ts';

/** Longest line (and longest joined `data` of one event) kept; past it the event is dropped. */
export const MAX_LINE_BYTES = 1024 * 1024; // 1 MiB

/** Answers of SseHooks.wantData, kept for the rest of the event (DATA_ASK: ask again at its next data line). */
export const DATA_SKIP = 0;
export const DATA_KEEP = 1;
export const DATA_ASK = 2;
export type DataWant = typeof DATA_SKIP | typeof DATA_KEEP | typeof DATA_ASK;

/** What the caller does with a stream: module-level functions, ctx carries the per-stream state. */
export interface SseHooks<C> {
  /** Asked at a data line of an event whose data is undecided, with s.event set (as far as it came before
   *  the line); buf[from, to) is the line's value. DATA_KEEP decodes this event's data (earlier undecided
   *  lines included) for onEvent, DATA_SKIP ignores it, DATA_ASK holds the line and asks at the next one. */
  wantData(ctx: C, s: SseState, buf: Buffer, from: number, to: number): DataWant;
  /** Called once per complete event whose data was kept, with s.event and s.data set;
   *  end = offset just past its blank line. */
  onEvent(ctx: C, s: SseState, end: number): void;
}

/** Parser state of one stream. Offsets are absolute byte positions in the stream. */
export interface SseState {
  /** The current partial line (holds no LF), at most maxLine bytes. */
  readonly tail: GrowBuffer;
  /** The current line overflowed maxLine: skip bytes up to its LF. */
  dropping: boolean;
  /** The current event lost a line or its data overflowed: it will not be dispatched. */
  broken: boolean;
  readonly names: EventNames;
  /** Value of the current event's `event:` field: the table's string for a known name, '' when none. */
  event: string;
  /** What the caller wants of the current event's data. */
  want: DataWant;
  /** Joined `data:` lines of the current event once kept, null before. */
  data: string | null;
  /** Bytes of the current event's data lines (joined), kept or not; capped at maxLine. */
  dataLen: number;
  /** Undecided data lines: the first one as a reference into its chunk (no copy), then copies. */
  heldBuf: Buffer | null;
  heldFrom: number;
  heldTo: number;
  readonly held: GrowBuffer;
  heldLines: number;
  /** Offset of the current event's first field line (comments excluded), -1 before one. */
  fieldStart: number;
  /** Offset just past the last blank line: every event before it is complete. */
  eventEnd: number;
  /** Offset of the next byte to be fed. */
  pos: number;
  readonly maxLine: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const LF_BYTE = Buffer.from('\n');

/** Fresh parser state; maxLine bounds memory per stream. */
export function createSseState(names: EventNames, maxLine = MAX_LINE_BYTES): SseState {
  return {
    tail: createGrowBuffer(),
    dropping: false,
    broken: false,
    names,
    event: '',
    want: DATA_ASK,
    data: null,
    dataLen: 0,
    heldBuf: null,
    heldFrom: 0,
    heldTo: 0,
    held: createGrowBuffer(),
    heldLines: 0,
    fieldStart: -1,
    eventEnd: 0,
    pos: 0,
    maxLine,
  };
}

/** Parses one chunk. Partial lines are copied; the chunk itself may stay referenced until the end of the
 *  event in progress (an undecided data line), so it must not be modified afterwards. */
export function feedSse<C>(s: SseState, chunk: Buffer, hooks: SseHooks<C>, ctx: C): void {
  const base = s.pos;
  s.pos += chunk.length;
  let start = 0;
  for (let nl = nextLf(chunk, 0); nl !== -1; nl = nextLf(chunk, start)) {
    const end = base + nl + 1;
    if (s.dropping) {
      s.dropping = false; // the overlong line ends here; it was already counted as lost
    } else if (s.tail.len === 0) {
      if (nl - start > s.maxLine) loseLine(s, base + start);
      else onLine(s, chunk, start, nl, base + start, end, hooks, ctx);
    } else {
      const lineStart = base + start - s.tail.len;
      if (s.tail.len + nl - start > s.maxLine) {
        loseLine(s, lineStart);
      } else {
        appendBytes(s.tail, chunk, start, nl);
        onLine(s, s.tail.buf, 0, s.tail.len, lineStart, end, hooks, ctx);
      }
      clearBytes(s.tail);
    }
    start = nl + 1;
  }
  if (start === chunk.length || s.dropping) return;
  if (s.tail.len + chunk.length - start > s.maxLine) {
    loseLine(s, base + start - s.tail.len);
    clearBytes(s.tail);
    s.dropping = true;
  } else {
    appendBytes(s.tail, chunk, start, chunk.length);
  }
}

// Every event ends with a blank line: seen right after the previous LF, it needs no search (a third of
// the indexOf calls on an Anthropic stream).
function nextLf(chunk: Buffer, start: number): number {
  const b = chunk[start];
  if (b === LF) return start;
  if (b === CR && chunk[start + 1] === LF) return start + 1;
  return chunk.indexOf(LF, start);
}

/** End of stream: a last line without LF and a last event without blank line are still delivered. */
export function endSse<C>(s: SseState, hooks: SseHooks<C>, ctx: C): void {
  if (!s.dropping && s.tail.len > 0) {
    onLine(s, s.tail.buf, 0, s.tail.len, s.pos - s.tail.len, s.pos, hooks, ctx);
  }
  clearBytes(s.tail);
  s.dropping = false;
  if (s.want === DATA_KEEP && !s.broken) hooks.onEvent(ctx, s, s.pos);
  resetEvent(s);
}

/** Gives up on the current event (it will not be dispatched); used when a caller must stop holding it. */
export function abandonEvent(s: SseState): void {
  s.broken = true;
  s.data = null;
  s.dataLen = 0;
  dropHeld(s);
}

function loseLine(s: SseState, lineStart: number): void {
  if (s.fieldStart === -1) s.fieldStart = lineStart;
  abandonEvent(s);
}

function resetEvent(s: SseState): void {
  s.event = '';
  s.want = DATA_ASK;
  s.data = null;
  s.dataLen = 0;
  s.broken = false;
  s.fieldStart = -1;
  if (s.heldLines !== 0) dropHeld(s);
}

// One line is buf[from, to) without its LF; it starts at stream offset lineStart, end is just past its LF.
function onLine<C>(
  s: SseState,
  buf: Buffer,
  from: number,
  to: number,
  lineStart: number,
  end: number,
  hooks: SseHooks<C>,
  ctx: C,
): void {
  if (to > from && buf[to - 1] === CR) to--;
  if (to === from) {
    if (s.want === DATA_KEEP && !s.broken) hooks.onEvent(ctx, s, end);
    s.eventEnd = end;
    resetEvent(s);
    return;
  }
  const first = buf[from];
  if (first === COLON) return; // comment (keep-alive)
  if (s.fieldStart === -1) s.fieldStart = lineStart;
  if (s.broken) return;
  // Byte comparisons: the field name is checked without decoding the line. id:, retry: and unknown
  // fields carry nothing we need.
  if (isData(buf, from, to)) {
    onData(s, buf, fieldValue(buf, from + 4, to), to, hooks, ctx);
  } else if (isEvent(buf, from, to)) {
    const v = fieldValue(buf, from + 5, to);
    s.event = knownName(s.names, buf, v, to) ?? buf.toString('utf8', v, to);
  }
}

// The name, then the end of the line or a colon: `data`, `data:`, `data: x`, not `datum` or `data2:`.
function isData(buf: Buffer, from: number, to: number): boolean {
  return (
    buf[from] === 0x64 &&
    buf[from + 1] === 0x61 &&
    buf[from + 2] === 0x74 &&
    buf[from + 3] === 0x61 &&
    (from + 4 === to || buf[from + 4] === COLON)
  );
}

function isEvent(buf: Buffer, from: number, to: number): boolean {
  return (
    buf[from] === 0x65 &&
    buf[from + 1] === 0x76 &&
    buf[from + 2] === 0x65 &&
    buf[from + 3] === 0x6e &&
    buf[from + 4] === 0x74 &&
    (from + 5 === to || buf[from + 5] === COLON)
  );
}

/** Where the value starts, given the end of the field name (at the line end or a colon). */
function fieldValue(buf: Buffer, nameEnd: number, to: number): number {
  if (nameEnd === to) return to; // a field name alone: empty value
  let v = nameEnd + 1;
  if (v < to && buf[v] === SPACE) v++;
  return v;
}

function onData<C>(s: SseState, buf: Buffer, from: number, to: number, hooks: SseHooks<C>, ctx: C): void {
  s.dataLen += to - from + 1;
  if (s.dataLen > s.maxLine) {
    abandonEvent(s);
    return;
  }
  let want = s.want;
  if (want === DATA_SKIP) return;
  if (want === DATA_ASK) {
    want = s.want = hooks.wantData(ctx, s, buf, from, to);
    if (want === DATA_ASK) {
      holdLine(s, buf, from, to);
      return;
    }
    if (want === DATA_SKIP) {
      if (s.heldLines !== 0) dropHeld(s);
      return;
    }
    s.data = takeHeld(s);
  }
  const value = buf.toString('utf8', from, to);
  s.data = s.data === null ? value : `${s.data}\n${value}`;
}

// The first undecided line stays a reference when it lies in a chunk (immutable); the tail buffer is
// reused, so a line there is copied, and so are all lines once there are two.
function holdLine(s: SseState, buf: Buffer, from: number, to: number): void {
  if (s.heldLines === 0 && buf !== s.tail.buf) {
    s.heldBuf = buf;
    s.heldFrom = from;
    s.heldTo = to;
  } else {
    if (s.heldBuf !== null) {
      appendBytes(s.held, s.heldBuf, s.heldFrom, s.heldTo);
      s.heldBuf = null;
    }
    if (s.heldLines > 0) appendBytes(s.held, LF_BYTE, 0, 1);
    appendBytes(s.held, buf, from, to);
  }
  s.heldLines++;
}

/** The held lines, joined and decoded, or null when none; the hold is emptied. */
function takeHeld(s: SseState): string | null {
  if (s.heldLines === 0) return null;
  const text =
    s.heldBuf !== null
      ? s.heldBuf.toString('utf8', s.heldFrom, s.heldTo)
      : s.held.buf.toString('utf8', 0, s.held.len);
  dropHeld(s);
  return text;
}

function dropHeld(s: SseState): void {
  s.heldBuf = null;
  s.heldLines = 0;
  clearBytes(s.held);
}
