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
export function setJsonMember(
  body: Buffer,
  path: readonly string[],
  valueJson: string,
  spare = false,
): Buffer {
  if (path.length === 0) throw new Error('setJsonMember: empty path');
  let open = skipSpace(body, 0);
  if (body[open] !== OPEN_OBJECT) throw new Error('setJsonMember: the top level is not an object');
  for (let d = 0; ; d++) {
    // The common edit, a top-level member that is there once (routing's `model`), skips the walk.
    const sole = path.length === 1 ? soleMember(body, open, path[0]!) : undefined;
    if (sole !== undefined) return splice(body, sole.valueStart, sole.valueEnd, valueJson, spare);
    const { members } = scanObject(body, open);
    const m = lastMember(body, members, path[d]!);
    if (m === undefined) {
      const last = members.at(-1);
      const at = last === undefined ? open + 1 : last.valueEnd;
      const member = `${JSON.stringify(path[d])}:${nest(path, d + 1, valueJson)}`;
      return splice(body, at, at, last === undefined ? member : `,${member}`, spare);
    }
    if (d === path.length - 1 || body[m.valueStart] !== OPEN_OBJECT) {
      return splice(body, m.valueStart, m.valueEnd, nest(path, d + 1, valueJson), spare);
    }
    open = m.valueStart;
  }
}

/** Replaces bytes [start, end) of `b` with `text`. With `spare`, the bytes of b's backing store past
 *  its end belong to the caller, and an edit that fits there is made in place: a large request body
 *  is then not held twice (the copy would stay in memory until the next collection). */
export function splice(b: Buffer, start: number, end: number, text: string, spare = false): Buffer {
  const insert = Buffer.from(text, 'utf8');
  const length = b.length - (end - start) + insert.length;
  if (spare && b.byteOffset + length <= b.buffer.byteLength) {
    // The view spans both lengths: a shorter edit moves the tail left from bytes past the result.
    const room = Buffer.from(b.buffer, b.byteOffset, Math.max(length, b.length));
    room.copyWithin(start + insert.length, end, b.length);
    insert.copy(room, start);
    return room.subarray(0, length);
  }
  const out = Buffer.allocUnsafe(length);
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

/**
 * The top-level member `key` without walking the whole object, when that is safe: the members before
 * it are walked, and the key's plain spelling (`"model"`) occurs nowhere after it, nor any `\u`
 * escape (the only way to spell the key differently). Then it is the only member of that name, so
 * the one JSON.parse reads. undefined when not known this way: the caller walks every member.
 */
function soleMember(b: Buffer, open: number, key: string): Member | undefined {
  const want = JSON.stringify(key);
  if (!/^"[\x20-\x7e]*"$/.test(want) || want.includes('\\')) return undefined;
  let i = skipSpace(b, open + 1);
  while (b[i] === QUOTE) {
    const keyStart = i;
    const keyEnd = stringEnd(b, i);
    const valueStart = skipSpace(b, skipSpace(b, keyEnd) + 1);
    const valueEnd = valueEndAt(b, valueStart);
    if (keyEnd - keyStart === want.length && b.toString('latin1', keyStart, keyEnd) === want) {
      if (b.indexOf(want, valueEnd, 'latin1') !== -1 || b.indexOf('\\u', 0, 'latin1') !== -1)
        return undefined;
      return { keyStart, keyEnd, valueStart, valueEnd };
    }
    i = skipSpace(b, valueEnd);
    if (b[i] !== COMMA) return undefined;
    i = skipSpace(b, i + 1);
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

/**
 * True when `b` is one valid JSON text (RFC 8259 grammar; bytes inside strings are not checked as
 * UTF-8, as JSON.parse of the decoded text would not reject them either). A loop with an explicit
 * container stack: no strings or values are built, so a large body is checked without holding it
 * a second time, and depth costs nothing but time.
 */
export function isValidJson(b: Buffer): boolean {
  const n = b.length;
  let stack = new Uint8Array(64); // OPEN_OBJECT or OPEN_ARRAY per open container
  let depth = 0;
  let i = skipSpace(b, 0);
  // Expecting a value (true) or, inside a container, a separator or close (false).
  for (;;) {
    // --- a value at i
    if (i >= n) return false;
    const c = b[i]!;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c;
      i = skipSpace(b, i + 1);
      if (b[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        depth--;
        i++;
      } else if (c === OPEN_OBJECT) {
        i = memberKey(b, i);
        if (i < 0) return false;
        continue;
      } else continue;
    } else if (c === QUOTE) {
      i = validStringEnd(b, i);
      if (i < 0) return false;
    } else {
      i = literalEnd(b, i);
      if (i < 0) return false;
    }
    // --- after a value: close containers, or a separator then the next value
    for (;;) {
      i = skipSpace(b, i);
      if (depth === 0) return i === n;
      const top = stack[depth - 1];
      const x = b[i];
      if (x === COMMA) {
        i = skipSpace(b, i + 1);
        if (top === OPEN_OBJECT) {
          i = memberKey(b, i);
          if (i < 0) return false;
        }
        break;
      }
      if ((top === OPEN_OBJECT && x === CLOSE_OBJECT) || (top === OPEN_ARRAY && x === CLOSE_ARRAY)) {
        depth--;
        i++;
        continue;
      }
      return false;
    }
  }
}

/** A key and its colon at i; the index of the value after them, or -1. */
function memberKey(b: Buffer, i: number): number {
  if (b[i] !== QUOTE) return -1;
  const e = validStringEnd(b, i);
  if (e < 0) return -1;
  const colon = skipSpace(b, e);
  if (b[colon] !== 0x3a) return -1;
  return skipSpace(b, colon + 1);
}

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPES[c.charCodeAt(0)] = 1;

/** Index past the string whose quote is at i, or -1 (unterminated, control byte, bad escape). */
function validStringEnd(b: Buffer, i: number): number {
  const n = b.length;
  for (i++; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[++i];
      if (e === undefined) return -1;
      if (e === 0x75) {
        if (!(HEX[b[i + 1]!] && HEX[b[i + 2]!] && HEX[b[i + 3]!] && HEX[b[i + 4]!])) return -1;
        i += 4;
      } else if (!ESCAPES[e]) return -1;
    }
  }
  return -1;
}

const digit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** Index past the number or true/false/null at i, or -1. */
function literalEnd(b: Buffer, i: number): number {
  for (const word of LITERALS) {
    if (b[i] === word[0]) {
      for (let k = 1; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
      return i + word.length;
    }
  }
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (digit(b[i])) while (digit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!digit(b[i])) return -1;
    while (digit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!digit(b[i])) return -1;
    while (digit(b[i])) i++;
  }
  return i;
}

const LITERALS = ['true', 'false', 'null'].map((w) => Buffer.from(w));

/** The top-level members named in `keys` of a JSON object text, each parsed alone (the rest of the
 *  body is never decoded); null when the top level is not an object. The body must be valid JSON. */
export function topLevelMembers(b: Buffer, keys: readonly string[]): Record<string, unknown> | null {
  const open = skipSpace(b, 0);
  if (b[open] !== OPEN_OBJECT) return null;
  const { members } = scanObject(b, open);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const m = lastMember(b, members, k);
    if (m !== undefined) out[k] = JSON.parse(b.toString('utf8', m.valueStart, m.valueEnd));
  }
  return out;
}
