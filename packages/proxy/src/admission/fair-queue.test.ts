import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFairQueue, type Queued } from './fair-queue.ts';

interface Item extends Queued {
  name: string;
}
const item = (bucket: string, name: string): Item => ({ bucket, name, state: 'waiting' });
const drain = (q: ReturnType<typeof createFairQueue<Item>>) => {
  const out: string[] = [];
  for (let i = q.shift(); i !== undefined; i = q.shift()) out.push(i.name);
  return out;
};

test('round-robin across buckets: A queued twice and B once is served A, B, A', () => {
  const q = createFairQueue<Item>();
  q.push(item('A', 'a1'));
  q.push(item('A', 'a2'));
  q.push(item('B', 'b1'));
  assert.equal(q.size, 3);
  assert.equal(q.activeBuckets, 2);
  assert.deepEqual(drain(q), ['a1', 'b1', 'a2']);
  assert.equal(q.size, 0);
});

test('a flooding bucket does not delay an occasional one by more than one turn', () => {
  const q = createFairQueue<Item>();
  for (let i = 0; i < 50; i++) q.push(item('flood', `f${i}`));
  q.shift();
  q.shift();
  q.push(item('calm', 'c'));
  const order = drain(q);
  assert.ok(order.indexOf('c') <= 1, `served at ${order.indexOf('c')}`);
});

test('FIFO within a bucket; a requeued attempt goes to the head of its bucket', () => {
  const q = createFairQueue<Item>();
  q.push(item('A', 'a1'));
  q.push(item('A', 'a2'));
  q.shift();
  q.push(item('A', 'a1-again'), true);
  assert.deepEqual(drain(q), ['a1-again', 'a2']);
});

test('cancel removes a waiter once; taken or cancelled ones cannot be cancelled', () => {
  const q = createFairQueue<Item>();
  const a = item('A', 'a');
  const b = item('B', 'b');
  const c = item('A', 'c');
  q.push(a);
  q.push(b);
  q.push(c);
  assert.equal(q.cancel(a), true);
  assert.equal(q.cancel(a), false);
  assert.equal(q.size, 2);
  assert.equal(q.peek()!.name, 'c');
  assert.equal(q.shift()!.name, 'c');
  assert.equal(q.cancel(c), false, 'already taken');
  assert.deepEqual(drain(q), ['b']);
  assert.equal(q.activeBuckets, 0);
});

test('buckets that empty leave the ring and come back at the end', () => {
  const q = createFairQueue<Item>();
  q.push(item('A', 'a1'));
  q.push(item('B', 'b1'));
  q.push(item('C', 'c1'));
  assert.equal(q.shift()!.name, 'a1');
  q.push(item('A', 'a2'));
  assert.deepEqual(drain(q), ['b1', 'c1', 'a2']);
});

test('long lanes are compacted as they drain', () => {
  const q = createFairQueue<Item>();
  for (let i = 0; i < 1000; i++) q.push(item('A', String(i)));
  const got = drain(q);
  assert.equal(got.length, 1000);
  assert.equal(got[999], '999');
});
