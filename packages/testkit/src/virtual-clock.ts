// A virtual clock for deterministic tests and simulations: time moves only when advance() moves it,
// timers fire in time order (ties in creation order), and each firing lets the promise chains it
// starts run to completion before the next one fires.

export interface VirtualClock {
  /** Virtual Unix ms. */
  now(): number;
  /** Resolves when virtual time reaches now + ms; rejects with the signal's reason on abort. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Seeded uniform [0, 1). */
  random(): number;
  /** Moves time forward by ms, firing every timer due on the way. */
  advance(ms: number): Promise<void>;
  /** Fires the next timer (moving time to it); false when none is pending. */
  step(): Promise<boolean>;
  /** Timers pending. */
  pending(): number;
  /** Lets pending promise callbacks run without moving time. */
  settle(): Promise<void>;
}

interface Timer {
  at: number;
  seq: number;
  fire(): void;
}

/** mulberry32: small, fast, good enough for simulated workloads; the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export function createVirtualClock(startMs = Date.UTC(2026, 0, 1), seed = 1): VirtualClock {
  let now = startMs;
  let seq = 0;
  const heap: Timer[] = [];
  const random = seededRandom(seed);

  const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  function push(t: Timer): void {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }
  function pop(): Timer | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }

  async function fireNext(): Promise<boolean> {
    const t = pop();
    if (t === undefined) return false;
    if (t.at > now) now = t.at;
    t.fire();
    await tick();
    return true;
  }

  return {
    now: () => now,
    random,
    pending: () => heap.length,
    settle: tick,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        let live = true;
        const onAbort = () => {
          live = false;
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        push({
          at: now + Math.max(0, ms),
          seq: seq++,
          fire: () => {
            signal?.removeEventListener('abort', onAbort);
            if (live) resolve();
          },
        });
      });
    },
    async advance(ms) {
      const end = now + ms;
      await tick();
      while (heap.length > 0 && heap[0]!.at <= end) await fireNext();
      now = end;
    },
    step: fireNext,
  };
}
