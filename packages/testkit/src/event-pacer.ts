/** Paces a stream's events onto the wire: delay, chunking, the advance() gate, and faults after N events. */
import { destroyConnection, type Exchange, endBody, park, pause, writeBody } from './exchange.ts';

/** Releases gated stream events one at a time, oldest waiting stream first. */
export interface StreamGate {
  /** Releases one waiting event; with none waiting, banks a release for the next one. */
  advance(): void;
  /** Waits for a release (or the connection closing). */
  next(x: Exchange): Promise<void>;
  reset(): void;
}

export function createStreamGate(): StreamGate {
  // Banked releases let a test call advance() before the stream reaches the gate without a race.
  let credits = 0;
  const waiters: Array<{ x: Exchange; release: () => void }> = [];
  return {
    advance() {
      for (let w = waiters.shift(); w !== undefined; w = waiters.shift()) {
        if (!w.x.closed) return w.release();
      }
      credits++;
    },
    next(x) {
      if (credits > 0) {
        credits--;
        return Promise.resolve();
      }
      return park(x, (release) => waiters.push({ x, release }));
    },
    reset() {
      credits = 0;
    },
  };
}

/** What happens after `stopAfter` events (or after the last one). */
export type StreamEnding = 'end' | 'destroy' | 'stall';

export interface Pacing {
  delayMs: number;
  chunk: number | undefined;
  gate: boolean;
  /** Write only this many events, then apply `ending`. */
  stopAfter: number;
  ending: StreamEnding;
}

/**
 * Writes framed SSE events. `onWritten(i)` runs after event i is handed to the socket, so the journal
 * records usage only if the event carrying it actually went out.
 */
export async function deliverEvents(
  x: Exchange,
  events: readonly string[],
  p: Pacing,
  gate: StreamGate,
  onWritten: (i: number) => void,
): Promise<void> {
  const n = Math.min(events.length, p.stopAfter);
  if (p.ending === 'end' && n === events.length && !p.gate && p.delayMs === 0 && p.chunk === undefined) {
    // Fast path for benchmarks: one write, as a fast upstream's kernel buffer would deliver it.
    for (let i = 0; i < n; i++) onWritten(i);
    return endBody(x, Buffer.from(events.join('')));
  }
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      if (p.gate) await gate.next(x);
      if (p.delayMs > 0) await pause(x, p.delayMs);
    }
    if (!(await writeBody(x, Buffer.from(events[i]!), p.chunk))) return;
    onWritten(i);
  }
  await finish(x, p.ending);
}

/** Applies the ending to a response whose head and partial body are out. */
export async function finish(x: Exchange, ending: StreamEnding): Promise<void> {
  if (x.closed) return;
  if (ending === 'end') return endBody(x);
  if (ending === 'destroy') return destroyConnection(x);
  // Stall: keep the socket open, writing nothing, until the client or close() ends it.
  await x.closedPromise;
}
