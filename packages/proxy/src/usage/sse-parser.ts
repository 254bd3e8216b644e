// Incremental text/event-stream framing: any chunking in, whole events out, bounded memory.
//
// One SseState per stream; feedSse() is a module-level function that scans only the new bytes for
// line ends and calls a module-level handler (with the caller's context) once per complete event.
// Supported: LF and CRLF line ends, multi-line `data:`, `data:` with or without the space, `:` comments,
// `event:` lines. A lone CR as line end (allowed by the SSE spec, sent by no LLM API) is not.
import { appendBytes, clearBytes, createGrowBuffer, type GrowBuffer } from './grow-buffer.ts';

/** Longest line (and longest joined `data` of one event) kept; past it the event is dropped. */
export const MAX_LINE_BYTES = 1024 * 1024; // 1 MiB

/** Parser state of one stream. Offsets are absolute byte positions in the stream. */
export interface SseState {
  /** The current partial line (holds no LF), at most maxLine bytes. */
  tail: GrowBuffer;
  /** The current line overflowed maxLine: skip bytes up to its LF. */
  dropping: boolean;
  /** The current event lost a line or its data overflowed: it will not be dispatched. */
  broken: boolean;
  /** Value of the current event's `event:` field, '' when none. */
  event: string;
  /** Joined `data:` lines of the current event, null when it has none. */
  data: string | null;
  dataLen: number;
  /** Offset of the current event's first field line (comments excluded), -1 before one. */
  fieldStart: number;
  /** Offset of the next byte to be fed. */
  pos: number;
  readonly maxLine: number;
}

/** Called once per complete event with s.event/s.data set; end = offset just past its blank line. */
export type SseHandler<C> = (ctx: C, s: SseState, end: number) => void;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Fresh parser state; maxLine bounds memory per stream. */
export function createSseState(maxLine = MAX_LINE_BYTES): SseState {
  return {
    tail: createGrowBuffer(),
    dropping: false,
    broken: false,
    event: '',
    data: null,
    dataLen: 0,
    fieldStart: -1,
    pos: 0,
    maxLine,
  };
}

/** Parses one chunk; never keeps a reference to it (partial lines are copied). */
export function feedSse<C>(s: SseState, chunk: Buffer, onEvent: SseHandler<C>, ctx: C): void {
  const base = s.pos;
  s.pos += chunk.length;
  let start = 0;
  for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
    const end = base + nl + 1;
    if (s.dropping) {
      s.dropping = false; // the overlong line ends here; it was already counted as lost
    } else if (s.tail.len === 0) {
      if (nl - start > s.maxLine) loseLine(s, base + start);
      else onLine(s, chunk.subarray(start, nl), base + start, end, onEvent, ctx);
    } else {
      const lineStart = base + start - s.tail.len;
      if (s.tail.len + nl - start > s.maxLine) {
        loseLine(s, lineStart);
      } else {
        appendBytes(s.tail, chunk, start, nl);
        onLine(s, s.tail.buf.subarray(0, s.tail.len), lineStart, end, onEvent, ctx);
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

/** End of stream: a last line without LF and a last event without blank line are still delivered. */
export function endSse<C>(s: SseState, onEvent: SseHandler<C>, ctx: C): void {
  if (!s.dropping && s.tail.len > 0) {
    onLine(s, s.tail.buf.subarray(0, s.tail.len), s.pos - s.tail.len, s.pos, onEvent, ctx);
  }
  clearBytes(s.tail);
  s.dropping = false;
  if (s.data !== null && !s.broken) onEvent(ctx, s, s.pos);
  resetEvent(s);
}

/** Gives up on the current event (it will not be dispatched); used when a caller must stop holding it. */
export function abandonEvent(s: SseState): void {
  s.broken = true;
  s.data = null;
  s.dataLen = 0;
}

function loseLine(s: SseState, lineStart: number): void {
  if (s.fieldStart === -1) s.fieldStart = lineStart;
  abandonEvent(s);
}

function resetEvent(s: SseState): void {
  s.event = '';
  s.data = null;
  s.dataLen = 0;
  s.broken = false;
  s.fieldStart = -1;
}

function onLine<C>(
  s: SseState,
  line: Buffer,
  lineStart: number,
  end: number,
  onEvent: SseHandler<C>,
  ctx: C,
): void {
  let len = line.length;
  if (len > 0 && line[len - 1] === CR) len--;
  if (len === 0) {
    if (s.data !== null && !s.broken) onEvent(ctx, s, end);
    resetEvent(s);
    return;
  }
  if (line[0] === COLON) return; // comment (keep-alive)
  if (s.fieldStart === -1) s.fieldStart = lineStart;
  if (s.broken) return;
  const colon = line.indexOf(COLON);
  const nameEnd = colon === -1 ? len : colon;
  let valueStart = colon === -1 ? len : colon + 1;
  if (valueStart < len && line[valueStart] === SPACE) valueStart++;
  if (isData(line, nameEnd)) {
    s.dataLen += len - valueStart + 1;
    if (s.dataLen > s.maxLine) {
      abandonEvent(s);
      return;
    }
    const value = line.toString('utf8', valueStart, len);
    s.data = s.data === null ? value : `${s.data}\n${value}`;
  } else if (isEvent(line, nameEnd)) {
    s.event = line.toString('utf8', valueStart, len);
  }
  // id:, retry: and unknown fields carry nothing we need
}

// Byte comparisons: the field name is checked without decoding the line.
function isData(line: Buffer, nameEnd: number): boolean {
  return nameEnd === 4 && line[0] === 0x64 && line[1] === 0x61 && line[2] === 0x74 && line[3] === 0x61;
}

function isEvent(line: Buffer, nameEnd: number): boolean {
  return (
    nameEnd === 5 &&
    line[0] === 0x65 &&
    line[1] === 0x76 &&
    line[2] === 0x65 &&
    line[3] === 0x6e &&
    line[4] === 0x74
  );
}
