// Byte matching on raw SSE lines without decoding them: substring needles and known-name tables, built at module load.

/** The `event:` names a stream is expected to use, matched on bytes; see eventNames(). */
export interface EventNames {
  /** byLength[n]: the known names of n bytes. */
  readonly byLength: readonly (readonly KnownName[] | undefined)[];
}

interface KnownName {
  readonly bytes: Buffer;
  readonly name: string;
}

/** Builds the byte table of known `event:` names (at module load), most frequent first; an unknown name
 *  is decoded instead. */
export function eventNames(names: readonly string[]): EventNames {
  const byLength: KnownName[][] = [];
  for (const name of names) {
    const bytes = Buffer.from(name);
    const list = byLength[bytes.length] ?? [];
    list.push({ bytes, name });
    byLength[bytes.length] = list;
  }
  return { byLength };
}

/** The table's string for buf[from, to) when it is a known name, else null. Compared backwards: names of
 *  one length tend to differ at the end (message_start/message_delta), so a wrong candidate is rejected
 *  at its first byte compared. */
export function knownName(t: EventNames, buf: Buffer, from: number, to: number): string | null {
  const list = t.byLength[to - from];
  if (list === undefined) return null;
  next: for (let k = 0; k < list.length; k++) {
    const known = list[k]!;
    const b = known.bytes;
    for (let i = b.length - 1; i >= 0; i--) if (buf[from + i] !== b[i]) continue next;
    return known.name;
  }
  return null;
}

/** A byte string to look for inside one line, with its skip table; build it at module load. */
export interface Needle {
  readonly bytes: Buffer;
  /** Horspool: how far the window may move when its last byte is b. */
  readonly shift: Uint8Array;
}

/** Prepares a needle (at least 2 bytes) for lineHas(). */
export function needle(text: string): Needle {
  const bytes = Buffer.from(text);
  const m = bytes.length;
  if (m < 2) throw new RangeError('needle: at least 2 bytes');
  const shift = new Uint8Array(256).fill(m);
  for (let k = 0; k < m - 1; k++) shift[bytes[k]!] = m - 1 - k;
  return { bytes, shift };
}

/** Whether buf[from, to) contains the needle, for wantData hooks. Searched in JS and bounded by the line:
 *  Buffer#indexOf with a multi-byte needle cost ~270 ns per call on a 170-byte line (native call and
 *  search setup) against ~90 ns here, and it can't stop at `to`. */
export function lineHas(n: Needle, buf: Buffer, from: number, to: number): boolean {
  const b = n.bytes;
  const shift = n.shift;
  const m = b.length;
  const last = b[m - 1];
  for (let i = from + m - 1; i < to; ) {
    const c = buf[i]!;
    if (c === last) {
      let k = m - 2;
      const at = i - m + 1;
      while (k >= 0 && buf[at + k] === b[k]) k--;
      if (k < 0) return true;
    }
    i += shift[c]!;
  }
  return false;
}
