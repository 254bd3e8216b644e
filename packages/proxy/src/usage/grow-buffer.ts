// A reusable byte accumulator that grows by doubling, so appending many tiny pieces stays linear.

/** Bytes [0, len) of buf are in use; buf is reused across appends and resets. */
export interface GrowBuffer {
  buf: Buffer;
  len: number;
}

const EMPTY = Buffer.alloc(0);
const MIN_CAPACITY = 256; // bytes: one typical SSE line
const RELEASE_ABOVE = 64 * 1024; // 64 KiB: a buffer grown past this is dropped when emptied

/** An empty accumulator that allocates nothing until the first append. */
export function createGrowBuffer(): GrowBuffer {
  return { buf: EMPTY, len: 0 };
}

/** Copies src[start, end) to the end of g. Doubling keeps byte-at-a-time appends linear overall. */
export function appendBytes(g: GrowBuffer, src: Buffer, start: number, end: number): void {
  const n = end - start;
  if (n <= 0) return;
  const need = g.len + n;
  if (need > g.buf.length) {
    let cap = g.buf.length === 0 ? MIN_CAPACITY : g.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    g.buf.copy(next, 0, 0, g.len);
    g.buf = next;
  }
  src.copy(g.buf, g.len, start, end);
  g.len = need;
}

/** Drops the first n bytes, keeping the rest at the front. */
export function consumeBytes(g: GrowBuffer, n: number): void {
  if (n >= g.len) {
    clearBytes(g);
    return;
  }
  g.buf.copyWithin(0, n, g.len);
  g.len -= n;
}

/** Empties g; a buffer that grew large is released so one huge line doesn't pin memory for the stream. */
export function clearBytes(g: GrowBuffer): void {
  g.len = 0;
  if (g.buf.length > RELEASE_ABOVE) g.buf = EMPTY;
}
