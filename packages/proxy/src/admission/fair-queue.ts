// The waiting room: one FIFO per client bucket, served round-robin across the buckets that have
// someone waiting, so a client that floods waits behind itself, not in front of everyone else.
// A requeued attempt (a 1302 that goes back in line) enters at the head of its bucket. Cancelling a
// waiter is O(1): it is marked and skipped when its turn comes.

/** An entry; the queue owns `state`. */
export interface Queued {
  readonly bucket: string;
  state: 'waiting' | 'taken' | 'cancelled';
}

export interface FairQueue<T extends Queued> {
  /** Waiters not yet taken or cancelled. */
  readonly size: number;
  /** Buckets with someone waiting. */
  readonly activeBuckets: number;
  /** Adds at the tail of its bucket, or at the head for a requeued attempt. */
  push(item: T, atHead?: boolean): void;
  /** The next waiter, round-robin over buckets; undefined when none. */
  shift(): T | undefined;
  /** Peeks at what shift() would return, without taking it. */
  peek(): T | undefined;
  /** Removes a waiter that has not been taken; false if it was taken or cancelled already. */
  cancel(item: T): boolean;
}

interface Lane<T> {
  items: T[];
  head: number;
}

export function createFairQueue<T extends Queued>(): FairQueue<T> {
  const lanes = new Map<string, Lane<T>>();
  const ring: string[] = []; // buckets with waiters, in service order
  let cursor = 0;
  let size = 0;

  // The live head of a lane, dropping cancelled entries; removes an emptied lane from the ring.
  function headOf(bucket: string, ringIndex: number): T | undefined {
    const lane = lanes.get(bucket)!;
    while (lane.head < lane.items.length && lane.items[lane.head]!.state === 'cancelled') lane.head++;
    if (lane.head < lane.items.length) return lane.items[lane.head];
    lanes.delete(bucket);
    ring.splice(ringIndex, 1);
    if (cursor > ringIndex) cursor--;
    if (cursor >= ring.length) cursor = 0;
    return undefined;
  }

  function peek(): T | undefined {
    while (ring.length > 0) {
      const i = cursor;
      const item = headOf(ring[i]!, i);
      if (item !== undefined) return item;
    }
    return undefined;
  }

  return {
    get size() {
      return size;
    },
    get activeBuckets() {
      return ring.length;
    },
    push(item, atHead = false) {
      let lane = lanes.get(item.bucket);
      if (lane === undefined) {
        lane = { items: [], head: 0 };
        lanes.set(item.bucket, lane);
        // A new bucket is served after the ones already waiting: just before the cursor.
        ring.splice(cursor, 0, item.bucket);
        cursor = (cursor + 1) % ring.length;
      }
      if (atHead) {
        if (lane.head > 0) lane.items[--lane.head] = item;
        else lane.items.unshift(item);
      } else lane.items.push(item);
      item.state = 'waiting';
      size++;
    },
    peek,
    shift() {
      const item = peek();
      if (item === undefined) return undefined;
      const bucket = ring[cursor]!;
      const lane = lanes.get(bucket)!;
      lane.head++;
      item.state = 'taken';
      if (lane.head > 64 && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head); // compact: keep memory proportional to waiters
        lane.head = 0;
      }
      size--;
      // Next turn goes to the next bucket; an emptied bucket leaves the ring on its next visit.
      cursor = (cursor + 1) % ring.length;
      return item;
    },
    cancel(item) {
      if (item.state !== 'waiting') return false;
      item.state = 'cancelled';
      size--;
      return true;
    },
  };
}
