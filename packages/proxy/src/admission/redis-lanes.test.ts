import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../../test/redis-server.ts';
import { createLogger } from '../log.ts';
import type { ConcurrencyConfig } from './concurrency-limiter.ts';
import type { AdmissionClock, LaneEvents, Lease } from './lanes.ts';
import { createRedisLanes, type RedisLanes } from './redis-lanes.ts';
import { connectRedis } from './redis-store.ts';

const CONC: ConcurrencyConfig = { initial: 4, min: 1, max: 64, backoff: 0.75, probeRounds: 5 };
const clock: AdmissionClock = { now: Date.now, sleep: (ms, signal) => sleep(ms, undefined, { signal }) };
const noop = () => {};
const events: LaneEvents = { granted: noop, refused: noop, concurrencyChanged: noop, rateChanged: noop };
const lines: string[] = [];
const log = createLogger('info', { write: (s: string) => lines.push(s) });
const never = new AbortController().signal;
const ask = (bucket = 'a') => ({ account: 'default', bucket, request: {} });

let server: RedisServer;
let admin: Redis;
const open: { lanes: RedisLanes; conns: Redis[] }[] = [];

before(async () => {
  server = await startRedisServer();
  admin = server.client();
});
after(async () => {
  for (const o of open) await shut(o);
  await server.close();
});
let run = 0;
beforeEach(async () => {
  // Replicas of earlier tests keep renewing their own slots: each test gets its own key space.
  for (const o of open.splice(0)) await shut(o);
  prefix = `zp-test-${++run}`;
});

let prefix = 'zp-test';
function replica(leaseTtlMs = 600) {
  const conns = [connectRedis(server.url), connectRedis(server.url)];
  for (const c of conns) c.on('error', () => {});
  const lanes = createRedisLanes(
    { concurrency: CONC, rate: null, maxQueue: 100, maxQueueWaitMs: 20_000 },
    clock,
    events,
    { redis: conns[0]!, subscriber: conns[1]!, log, leaseTtlMs, prefix },
  );
  const o = { lanes, conns };
  open.push(o);
  return o;
}

async function shut(o: { lanes: RedisLanes; conns: Redis[] }): Promise<void> {
  await o.lanes.close();
  for (const c of o.conns) c.disconnect();
}

async function until(pred: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met');
    await sleep(20);
  }
}

async function ready(o: { lanes: RedisLanes; conns: Redis[] }) {
  await until(() => o.conns.every((c) => c.status === 'ready') && o.lanes.mode() === 'redis');
}

test('two replicas together never hold more than the shared limit; a release on one grants on the other', async () => {
  const a = replica();
  const b = replica();
  await ready(a);
  await ready(b);
  const held: Lease[] = [];
  held.push(await a.lanes.acquire(ask(), never), await b.lanes.acquire(ask(), never));
  held.push(await a.lanes.acquire(ask(), never), await b.lanes.acquire(ask(), never));
  let fifth: Lease | null = null;
  void a.lanes.acquire(ask(), never).then((l) => {
    fifth = l;
  });
  await sleep(100);
  assert.equal(fifth, null, 'the limit (4) is account-wide');
  assert.equal(await admin.zcard(`${prefix}:{default}:slots`), 4);
  held[1]!.release('neutral'); // released on b: a is told through pub/sub
  await until(() => fifth !== null);
  assert.equal(await admin.zcard(`${prefix}:{default}:slots`), 4);
});

test('a 1302 seen by one replica cuts the limit for both, once per episode', async () => {
  const a = replica();
  const b = replica();
  await ready(a);
  await ready(b);
  const ls = [await a.lanes.acquire(ask(), never), await a.lanes.acquire(ask(), never)];
  const lb = [await b.lanes.acquire(ask(), never), await b.lanes.acquire(ask(), never)];
  lb[1]!.release('concurrency'); // level 4: cut to min(4 × 0.75, 3) = 3
  await until(async () => JSON.parse((await admin.get(`${prefix}:{default}:state`))!).limit === 3);
  ls[1]!.release('concurrency'); // same episode: no second cut
  await sleep(100);
  assert.equal(JSON.parse((await admin.get(`${prefix}:{default}:state`))!).limit, 3);
  await a.lanes.acquire(ask(), never).then((l) => l.release('neutral'));
  assert.equal(a.lanes.view('default').concurrency!.limit, 3, 'the other replica sees the cut');
});

test('a replica killed while holding slots leaks nothing: its leases expire and the other reaches the full limit', async () => {
  const a = replica(500);
  const b = replica(500);
  await ready(a);
  await ready(b);
  for (let i = 0; i < 4; i++) await a.lanes.acquire(ask(), never);
  await shut(a); // no release, no more heartbeats: as after kill -9
  const got = await Promise.all([0, 1, 2, 3].map(() => b.lanes.acquire(ask(), never)));
  assert.equal(got.length, 4);
});

test('Redis down: each replica falls back to its share and keeps serving; when Redis returns it rejoins', async () => {
  const a = replica(600);
  const b = replica(600);
  await ready(a);
  await ready(b);
  await a.lanes.acquire(ask(), never).then((l) => l.release('ok'));
  await until(() => a.lanes.replicas() === 2);
  lines.length = 0;
  await server.stop();
  // A's next acquisition fails over to the local engine at 4 / 2 replicas = 2.
  const l1 = await a.lanes.acquire(ask(), never);
  const l2 = await a.lanes.acquire(ask(), never);
  assert.equal(a.lanes.mode(), 'fallback');
  let third: Lease | null = null;
  void a.lanes.acquire(ask(), never).then((l) => {
    third = l;
  });
  await sleep(100);
  assert.equal(third, null, 'the share (2) holds during the outage');
  assert.ok(lines.some((l) => l.includes('Redis unreachable')));
  await server.start();
  await until(() => a.lanes.mode() === 'redis');
  assert.ok(lines.some((l) => l.includes('Redis is back')));
  // The slots taken during the outage are registered in Redis by the heartbeat.
  await until(async () => (await admin.zcard(`${prefix}:{default}:slots`).catch(() => 0)) >= 2);
  l1.release('ok');
  l2.release('ok');
  await until(() => third !== null);
});

test('one Redis round trip per acquisition and one per release (INFO commandstats)', async () => {
  const a = replica(60_000);
  await ready(a);
  await a.lanes.acquire(ask(), never).then((l) => l.release('neutral'));
  await sleep(50);
  await admin.config('RESETSTAT');
  for (let i = 0; i < 20; i++) (await a.lanes.acquire(ask(), never)).release('neutral');
  await sleep(100);
  const info = await admin.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  const scripts = calls('evalsha') + calls('eval');
  assert.equal(scripts, 40, `evalsha+eval ${scripts}\n${info}`);
});
