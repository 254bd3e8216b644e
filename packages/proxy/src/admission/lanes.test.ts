import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createVirtualClock, type VirtualClock } from '@zai-proxy/testkit';
import { createLogger } from '../log.ts';
import type { ConcurrencyConfig } from './concurrency-limiter.ts';
import {
  ACCEPTED_AFTER_MS,
  AdmissionRefusal,
  type Ask,
  createLanes,
  type LaneEvents,
  type Lanes,
  type LanesConfig,
  type Lease,
} from './lanes.ts';
import { MIN_WINDOW_SAMPLES, type RateConfig, WINDOW_MS } from './rate-limiter.ts';
import { createLocalStore, type StateStore } from './state-store.ts';

const CONC: ConcurrencyConfig = { initial: 2, min: 1, max: 64, backoff: 0.75, probeRounds: 5 };
const RATE: RateConfig = {
  initial: 1000,
  min: 1,
  max: 2000,
  alpha: 0.3,
  holdMargin: 0.02,
  probeInterval: 10,
  windowMs: WINDOW_MS,
  minSamples: MIN_WINDOW_SAMPLES,
};
const log = createLogger('silent');

interface Rig {
  clock: VirtualClock;
  lanes: Lanes;
  store: StateStore;
  granted: string[];
  refused: string[];
  changes: string[];
}

function rig(over: Partial<LanesConfig> = {}, store?: StateStore, clock = createVirtualClock()): Rig {
  const granted: string[] = [];
  const refused: string[] = [];
  const changes: string[] = [];
  const events: LaneEvents = {
    granted: (b) => granted.push(b),
    refused: (_b, r) => refused.push(r),
    concurrencyChanged: (_a, _s, c) => changes.push(c),
    rateChanged: (_a, _s, c) => changes.push(`rate:${c}`),
  };
  const s = store ?? createLocalStore({ path: null, maxAgeMs: 1e9, now: clock.now, log });
  const cfg: LanesConfig = { concurrency: CONC, rate: null, maxQueue: 100, maxQueueWaitMs: 60_000, ...over };
  return { clock, lanes: createLanes(cfg, clock, s, events), store: s, granted, refused, changes };
}

const ask = (bucket: string, request: object = {}, account = 'default'): Ask => ({
  account,
  bucket,
  request,
});
const never = new AbortController().signal;

/** Settles or reports pending, without moving time. */
async function state<T>(p: Promise<T>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => {
      s = 'resolved';
    },
    () => {
      s = 'rejected';
    },
  );
  await new Promise((r) => setImmediate(r));
  return s;
}

describe('grants', () => {
  test('free slots are granted at once; beyond the limit attempts wait and a release grants the next', async () => {
    const r = rig();
    const a = await r.lanes.acquire(ask('A'), never);
    await r.lanes.acquire(ask('A'), never);
    const third = r.lanes.acquire(ask('B'), never);
    assert.equal(await state(third), 'pending');
    assert.equal(r.lanes.queued(), 1);
    a.release('neutral');
    assert.equal(await state(third), 'resolved');
    assert.equal(r.lanes.view('default').inflight, 2);
  });

  test('waiters are granted round-robin across client buckets', async () => {
    const r = rig({ concurrency: { ...CONC, initial: 1 } });
    let current = await r.lanes.acquire(ask('A'), never);
    const order: string[] = [];
    const leases: Lease[] = [];
    for (const b of ['A', 'A', 'A', 'B', 'C'])
      void r.lanes.acquire(ask(b), never).then((l) => {
        order.push(b);
        leases.push(l);
      });
    for (let i = 0; i < 5; i++) {
      current.release('neutral');
      await r.clock.settle();
      current = leases.at(-1)!;
    }
    assert.deepEqual(order, ['A', 'B', 'C', 'A', 'A']);
  });

  test('a release that is repeated counts once', async () => {
    const r = rig();
    const a = await r.lanes.acquire(ask('A'), never);
    a.release('ok');
    a.release('ok');
    assert.equal(r.lanes.view('default').inflight, 0);
  });
});

describe('refusals and cancellation', () => {
  test('a full queue refuses at once with queue_full', async () => {
    const r = rig({ maxQueue: 1 });
    await r.lanes.acquire(ask('A'), never);
    await r.lanes.acquire(ask('A'), never);
    const waiting = r.lanes.acquire(ask('A'), never);
    await assert.rejects(
      r.lanes.acquire(ask('B'), never),
      (e) => e instanceof AdmissionRefusal && e.reason === 'queue_full',
    );
    assert.equal(await state(waiting), 'pending');
    assert.deepEqual(r.refused, ['queue_full']);
  });

  test('a wait that outlasts MAX_QUEUE_WAIT is refused with queue_timeout and leaves the queue', async () => {
    const r = rig({ maxQueueWaitMs: 5000 });
    await r.lanes.acquire(ask('A'), never);
    await r.lanes.acquire(ask('A'), never);
    const p = r.lanes.acquire(ask('A'), never);
    const errors: unknown[] = [];
    p.catch((e) => errors.push(e));
    await r.clock.advance(4999);
    assert.equal(errors.length, 0);
    await r.clock.advance(1);
    const e = errors[0];
    assert.ok(e instanceof AdmissionRefusal && e.reason === 'queue_timeout');
    assert.equal(r.lanes.queued(), 0);
  });

  test('a client that leaves is out of the queue at once and takes no slot', async () => {
    const r = rig();
    const a = await r.lanes.acquire(ask('A'), never);
    await r.lanes.acquire(ask('A'), never);
    const ac = new AbortController();
    const gone = r.lanes.acquire(ask('A'), ac.signal);
    const next = r.lanes.acquire(ask('B'), never);
    ac.abort(new Error('client left'));
    assert.equal(await state(gone), 'rejected');
    assert.equal(r.lanes.queued(), 1);
    a.release('neutral');
    assert.equal(await state(next), 'resolved', 'the slot went to the next waiter');
  });
});

describe('1302 requeue', () => {
  test('the attempt after a 1302 goes to the head of its bucket, within the original wait budget', async () => {
    const r = rig({ concurrency: { ...CONC, initial: 1 }, maxQueueWaitMs: 10_000 });
    const req = {};
    const first = await r.lanes.acquire(ask('A', req), never);
    const other = r.lanes.acquire(ask('A'), never); // waiting in the same bucket
    await r.clock.advance(3000);
    first.release('concurrency');
    // Limit 1 is the floor: a 1302 there means the account is full of other clients' requests, so
    // the lane pauses (250 ms, doubling) instead of re-sending at once.
    const again = r.lanes.acquire(ask('A', req), never);
    assert.equal(await state(other), 'pending');
    await r.clock.advance(250);
    assert.equal(await state(again), 'resolved', 'the requeued attempt went first, ahead of its bucket');
    assert.equal(await state(other), 'pending');
  });

  test('a requeue past the wait budget of its request is refused', async () => {
    const r = rig({ concurrency: { ...CONC, initial: 1 }, maxQueueWaitMs: 2000 });
    const req = {};
    const hold = await r.lanes.acquire(ask('B'), never);
    const p = r.lanes.acquire(ask('A', req), never); // the request first waits here
    await r.clock.advance(1500);
    hold.release('ok');
    const l = await p;
    await r.clock.advance(1000);
    l.release('concurrency');
    await assert.rejects(
      r.lanes.acquire(ask('A', req), never),
      (e) => e instanceof AdmissionRefusal && e.reason === 'queue_timeout',
    );
  });

  test('1302s cut the lane limit once per episode', async () => {
    const r = rig({ concurrency: { ...CONC, initial: 8 } });
    const leases = [];
    for (let i = 0; i < 8; i++) leases.push(await r.lanes.acquire(ask('A'), never));
    // The latest admitted (level 8) comes back first; the others were admitted in the same episode.
    for (const l of leases.reverse()) l.release('concurrency');
    assert.deepEqual(r.changes, ['decrease']);
    assert.equal(r.lanes.view('default').concurrency!.limit, 6);
  });
});

describe('fairness', () => {
  test('a client flooding at 10× the limit does not hold back an occasional one beyond active buckets × mean hold', async () => {
    const limit = 2;
    const holdMs = 1000;
    const r = rig({ concurrency: { ...CONC, initial: limit, min: limit, max: limit }, maxQueue: 1000 });
    let stop = false;
    // The flood: 10 × limit requests outstanding at all times, each holding its slot 1 s.
    const flooder = async () => {
      while (!stop) {
        const l = await r.lanes.acquire(ask('flood'), never);
        await r.clock.sleep(holdMs);
        l.release('ok');
      }
    };
    for (let i = 0; i < 10 * limit; i++) void flooder();
    const waits: number[] = [];
    const occasional = async () => {
      for (let i = 0; i < 20; i++) {
        await r.clock.sleep(5000);
        const t = r.clock.now();
        const l = await r.lanes.acquire(ask('calm'), never);
        waits.push(r.clock.now() - t);
        await r.clock.sleep(holdMs);
        l.release('ok');
      }
    };
    const done = occasional();
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    while (!finished) await r.clock.step();
    stop = true;
    const bound = 2 * holdMs; // 2 active buckets × mean slot hold
    assert.equal(waits.length, 20);
    assert.ok(Math.max(...waits) <= bound, `occasional client's waits ${waits.join(',')} ms, bound ${bound}`);
    assert.ok(r.lanes.queued() >= 10 * limit - limit - 1, 'the flood kept its queue full meanwhile');
  });
});

describe('learning pace', () => {
  test('an attempt still in flight 5 s after its grant counts as admitted by Z.AI: the limit grows before it ends', async () => {
    const r = rig();
    const a = await r.lanes.acquire(ask('A'), never);
    await r.lanes.acquire(ask('A'), never);
    assert.equal(r.lanes.view('default').concurrency!.limit, 2);
    await r.clock.advance(ACCEPTED_AFTER_MS - 1);
    assert.equal(r.lanes.view('default').concurrency!.limit, 2);
    await r.clock.advance(1);
    assert.equal(r.lanes.view('default').concurrency!.limit, 4, 'slow start: +1 for each admitted attempt');
    a.release('ok');
    assert.equal(r.lanes.view('default').concurrency!.limit, 4, 'its end does not count it twice');
  });
});

describe('accounts', () => {
  test("one account's 1302s never throttle another's", async () => {
    const r = rig({ concurrency: { ...CONC, initial: 4 } });
    const a = await r.lanes.acquire(ask('A', {}, 'acct-a'), never);
    a.release('concurrency');
    assert.equal(r.lanes.view('acct-a').concurrency!.limit, 1);
    assert.equal(r.lanes.view('acct-b').concurrency!.limit, 4);
  });
});

describe('rate', () => {
  test('the token bucket paces grants; a request counts once in the rate window however many attempts it made', async () => {
    const r = rig({ concurrency: null, rate: { ...RATE, initial: 2, max: 4 } });
    for (let i = 0; i < 4; i++) (await r.lanes.acquire(ask('A'), never)).release('ok'); // burst ⌊2 × rate⌋
    const fifth = r.lanes.acquire(ask('A'), never);
    assert.equal(await state(fifth), 'pending');
    await r.clock.advance(499);
    assert.equal(await state(fifth), 'pending');
    await r.clock.advance(1);
    assert.equal(await state(fifth), 'resolved', 'one token per 1/rate s');
    // Per request: one request with three frequency 429s then a success is one throttled sample.
    const r2 = rig({ concurrency: null, rate: { ...RATE } });
    const req = {};
    for (let i = 0; i < 3; i++) (await r2.lanes.acquire(ask('A', req), never)).release('frequency');
    (await r2.lanes.acquire(ask('A', req), never)).release('ok');
    const v = r2.lanes.view('default').rate!;
    assert.equal(v.throttled, 1);
    assert.equal(v.ok, 0);
  });
});

describe('persistence', () => {
  test('the learned limit is persisted on a real change and restored by the next process', async () => {
    const clock = createVirtualClock();
    const store = createLocalStore({ path: null, maxAgeMs: 1e9, now: clock.now, log });
    const r = rig({ concurrency: { ...CONC, initial: 8 } }, store, clock);
    const l = await r.lanes.acquire(ask('A'), never);
    l.release('concurrency');
    assert.deepEqual(await store.get('concurrency:default'), { limit: 1, ceiling: 2, episode: 1 });
    const next = rig({ concurrency: { ...CONC, initial: 8 } }, store, clock);
    next.lanes.view('default');
    await clock.settle();
    assert.equal(next.lanes.view('default').concurrency!.limit, 1);
    assert.equal(next.lanes.view('default').restored.concurrency, true);
    await next.lanes.reset();
    assert.equal(await store.get('concurrency:default'), null);
    assert.equal(next.lanes.view('default').concurrency!.limit, 8);
  });
});
