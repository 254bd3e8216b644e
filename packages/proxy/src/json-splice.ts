// Request edits as byte splices: a member of a JSON object is replaced or inserted by cutting the
// request bytes at its position, never by re-serialising the body. Every byte outside the edit stays
// as the client sent it: invalid UTF-8, number spellings, key order, whitespace. The scanner is a
// loop with a depth counter (no recursion), so nesting depth costs nothing but time.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** One member of a JSON object, as byte offsets. */
interface Member {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/**
 * Sets the member at `path` (keys from the top-level object down) to `valueJson`, which must be one
 * JSON value. An existing member is replaced (the last one when a key repeats, the one JSON.parse
 * reads); a missing one is appended to the innermost object that exists, with the objects below it
 * created; a value on the path that is not an object is replaced. `body` must be valid JSON (the
 * caller has parsed it) whose top level is an object.
 */
export function setJsonMember(body: Buffer, path: readonly string[], valueJson: string): Buffer {
  if (path.length === 0) throw new Error('setJsonMember: empty path');
  let open = skipSpace(body, 0);
  if (body[open] !== OPEN_OBJECT) throw new Error('setJsonMember: the top level is not an object');
  for (let d = 0; ; d++) {
    const { members } = scanObject(body, open);
    const m = lastMember(body, members, path[d]!);
    if (m === undefined) {
      const last = members.at(-1);
      const at = last === undefined ? open + 1 : last.valueEnd;
      const member = `${JSON.stringify(path[d])}:${nest(path, d + 1, valueJson)}`;
      return splice(body, at, at, last === undefined ? member : `,${member}`);
    }
    if (d === path.length - 1 || body[m.valueStart] !== OPEN_OBJECT) {
      return splice(body, m.valueStart, m.valueEnd, nest(path, d + 1, valueJson));
    }
    open = m.valueStart;
  }
}

/** Replaces bytes [start, end) of `b` with `text`. */
export function splice(b: Buffer, start: number, end: number, text: string): Buffer {
  const insert = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(b.length - (end - start) + insert.length);
  b.copy(out, 0, 0, start);
  insert.copy(out, start);
  b.copy(out, start + insert.length, end);
  return out;
}

function nest(path: readonly string[], from: number, valueJson: string): string {
  let v = valueJson;
  for (let i = path.length - 1; i >= from; i--) v = `{${JSON.stringify(path[i])}:${v}}`;
  return v;
}

function lastMember(b: Buffer, members: Member[], key: string): Member | undefined {
  const want = Buffer.from(JSON.stringify(key), 'utf8');
  for (let i = members.length - 1; i >= 0; i--) {
    const m = members[i]!;
    const raw = b.subarray(m.keyStart, m.keyEnd);
    if (raw.equals(want)) return m;
    // A key spelled with escapes ("stream\u005foptions") is the same key to JSON.parse.
    if (raw.includes(BACKSLASH) && JSON.parse(raw.toString('utf8')) === key) return m;
  }
  return undefined;
}

/** The members of the object whose `{` is at `open`, and the index of its `}`. */
function scanObject(b: Buffer, open: number): { members: Member[]; close: number } {
  const members: Member[] = [];
  let i = skipSpace(b, open + 1);
  if (b[i] === CLOSE_OBJECT) return { members, close: i };
  for (;;) {
    const keyStart = i;
    const keyEnd = stringEnd(b, i);
    i = skipSpace(b, skipSpace(b, keyEnd) + 1); // past the colon
    const valueStart = i;
    const valueEnd = valueEndAt(b, i);
    members.push({ keyStart, keyEnd, valueStart, valueEnd });
    i = skipSpace(b, valueEnd);
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1);
      continue;
    }
    if (b[i] === CLOSE_OBJECT) return { members, close: i };
    throw new Error(`setJsonMember: malformed object at byte ${i}`);
  }
}

/** Index just past the value starting at `i`. */
function valueEndAt(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
    while (i < b.length && !isDelimiter(b[i]!)) i++;
    return i;
  }
  let depth = 0;
  while (i < b.length) {
    const x = b[i]!;
    if (x === QUOTE) {
      i = stringEnd(b, i);
      continue;
    }
    if (x === OPEN_OBJECT || x === OPEN_ARRAY) depth++;
    else if (x === CLOSE_OBJECT || x === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  throw new Error('setJsonMember: unterminated value');
}

/** Index just past the string whose opening quote is at `i`. */
function stringEnd(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q === -1) throw new Error('setJsonMember: unterminated string');
    let backslashes = 0;
    while (b[q - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
  return i;
}

function isDelimiter(c: number): boolean {
  return (
    c === COMMA ||
    c === CLOSE_OBJECT ||
    c === CLOSE_ARRAY ||
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d
  );
}
