// Two proxy processes, one real redis-server, one simulated Z.AI account capped at 4 requests in
// flight: the replicas learn and keep one limit together, a 1302 seen by one cuts the other's, a
// replica killed with -9 while holding slots frees them after REDIS_LEASE_TTL, and a Redis outage
// keeps both serving on their share, rejoining after it. Default admission settings otherwise; the
// SDK's own retries are off, so every failure the proxies let through would show.
// Needs redis-server (Debian package).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { type AnyJson, ZAI_KEY } from './harness.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const CAP = 4;
const MESSAGE = { model: 'glm-4.6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };
const SHORT = { 'x-sim-scenario': 'ok;events=8;delay=15' }; // ~120 ms per stream

interface Replica {
  url: string;
  child: ChildProcess;
  out: () => string;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ZAI_API_KEY: ZAI_KEY,
      ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
      REDIS_URL: redis.url,
      REDIS_LEASE_TTL: '2s',
      // Its own state file: an empty value means the default, shared by every proxy on the machine.
      RATE_LIMIT_STATE_FILE: join(mkdtempSync(join(tmpdir(), 'zai-replica-')), 'state.json'),
      TOKEN_COUNTING_ENABLED: 'false',
      DEPLOYMENT_VARIANT: name,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}:\n${out}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error(`${name} not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, child, out: () => out };
}

let sim: SimUpstream;
let redis: RedisServer;
let a: Replica;
let b: Replica;
before(async () => {
  sim = await startSimUpstream({ apiKey: ZAI_KEY, maxInFlight: CAP });
  redis = await startRedisServer();
  [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
});
after(async () => {
  for (const r of [a, b]) r?.child.kill('SIGKILL');
  await redis?.close();
  await sim?.close();
});

const capped = () => sim.journal.filter((e) => e.scenario === 'concurrency_cap').length;
const concurrency = async (r: Replica): Promise<AnyJson> =>
  ((await (await fetch(`${r.url}/health`)).json()) as AnyJson).concurrency;

/** n concurrent streams spread over the replicas; resolves with the failures (none expected). */
async function wave(replicas: Replica[], n: number, headers = SHORT): Promise<unknown[]> {
  const sdks = replicas.map(
    (r) => new Anthropic({ apiKey: 'client', baseURL: r.url, maxRetries: 0, defaultHeaders: headers }),
  );
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const m = await sdks[i % sdks.length]!.messages.stream({ ...MESSAGE }).finalMessage();
      assert.equal(m.stop_reason, 'end_turn');
    }),
  );
  return results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('together they learn one limit under the cap: two waves of 24 streams over both, wave 2 meets ≤ 2 1302s', async () => {
  assert.deepEqual(await wave([a, b], 24), []);
  const learned = capped();
  assert.ok(learned >= 1, 'wave 1 met the cap: the limit was learned, not configured');
  // Each /health shows that replica's last copy of the shared state: the replica whose release made
  // the last change has it at once, the other within a heartbeat (TTL ÷ 3), so wait for them to agree.
  let ha: AnyJson = await concurrency(a);
  await until('one shared limit', async () => {
    ha = await concurrency(a);
    return ha.limit === (await concurrency(b)).limit;
  });
  assert.equal(ha.source, 'redis');
  assert.ok(ha.limit <= CAP, `learned limit ${ha.limit} ≤ cap ${CAP}`);
  assert.deepEqual(await wave([a, b], 24), []);
  const second = capped() - learned;
  assert.ok(second <= 2, `wave 2 met ${second} upstream 1302s`);
  console.log(`# wave 1: ${learned} upstream 1302s, shared limit ${ha.limit}; wave 2: ${second}`);
});

test("a 1302 seen by one replica cuts the other's limit", async () => {
  const before = (await concurrency(b)).limit;
  sim.setMaxInFlight(1);
  // Only a meets the new cap. One cut per congestion episode: on a loaded machine one wave of short
  // streams may overlap too little at the sim for a second episode, so up to three waves.
  try {
    let hb = await concurrency(b);
    for (let w = 0; w < 3 && (hb.hold ?? hb.limit) > 1; w++) {
      assert.deepEqual(await wave([a], 6), []);
      // b's copy of the shared state is refreshed by its heartbeat (TTL ÷ 3): give it two.
      const end = Date.now() + 1500;
      do {
        await new Promise((r) => setTimeout(r, 50));
        hb = await concurrency(b);
      } while ((hb.hold ?? hb.limit) > 1 && Date.now() < end);
    }
    assert.ok(hb.limit < before, `b's limit ${hb.limit} fell from ${before} without b meeting a 1302`);
    // What was learned is the hold; the limit may stand one above it while a probe is on (after
    // CONCURRENCY_PROBE_ROUNDS clean rounds, which requeued 1302s reach within the wave).
    assert.ok(hb.hold <= 1, `b's hold ${hb.hold} ≤ the new cap (limit ${hb.limit})`);
  } finally {
    sim.setMaxInFlight(CAP); // the next tests learn the full cap again
  }
});

test('a replica killed with -9 while holding slots: its leases expire and the other reaches the shared limit', async () => {
  // Learn the cap again (growth needs slots in use; a loaded machine may need a second wave), then
  // hold the whole limit on a with slow streams.
  let limit = 0;
  for (let w = 0; w < 3 && limit < 2; w++) {
    assert.deepEqual(await wave([a, b], 24), []);
    limit = (await concurrency(a)).limit;
  }
  assert.ok(limit >= 2, `limit ${limit} after relearning`);
  const slow = new Anthropic({
    apiKey: 'client',
    baseURL: a.url,
    maxRetries: 0,
    defaultHeaders: { 'x-sim-scenario': 'ok;events=100;delay=100' }, // 10 s
  });
  const held = Array.from({ length: limit }, () =>
    slow.messages
      .stream({ ...MESSAGE })
      .finalMessage()
      .catch(() => null),
  );
  await until(`a holding ${limit} slots`, () => sim.inFlight().now === limit);
  a.child.kill('SIGKILL');
  await Promise.all(held);
  await until('the killed replica’s upstream connections closed', () => sim.inFlight().now === 0);
  // b alone now: within the lease TTL (2 s) plus a heartbeat it gets every slot of the shared limit.
  const longer = new Anthropic({
    apiKey: 'client',
    baseURL: b.url,
    maxRetries: 0,
    defaultHeaders: { 'x-sim-scenario': 'ok;events=40;delay=100' }, // 4 s
  });
  const t0 = Date.now();
  const streams = Array.from({ length: limit }, () => longer.messages.stream({ ...MESSAGE }).finalMessage());
  await until(`b holding all ${limit} slots`, () => sim.inFlight().now === limit, 10_000);
  console.log(`# b reached ${limit} in flight ${Date.now() - t0} ms after a's death`);
  for (const m of await Promise.all(streams)) assert.equal(m.stop_reason, 'end_turn');
  a = await startReplica('a'); // back for the next test
});

test('during a Redis outage both keep serving within the cap; afterwards they rejoin', async () => {
  await redis.stop();
  const before = capped();
  assert.deepEqual(await wave([a, b], 16), []);
  const during = capped() - before;
  const [ha, hb] = [await concurrency(a), await concurrency(b)];
  assert.equal(ha.redis, 'down');
  assert.equal(hb.redis, 'down');
  console.log(`# outage: 16 streams served, ${during} upstream 1302s, limits ${ha.limit} + ${hb.limit}`);
  await redis.start();
  await until(
    'both replicas back on Redis',
    async () => (await concurrency(a)).redis === 'up' && (await concurrency(b)).redis === 'up',
  );
  assert.deepEqual(await wave([a, b], 16), []);
  const ra = await concurrency(a);
  assert.equal(ra.source, 'redis');
  // Each replica's /health shows its last copy of the shared limit; the one that did not make the
  // last change picks it up within its refresh, so wait for the two copies to agree.
  await until(
    'one shared limit again',
    async () => (await concurrency(a)).limit === (await concurrency(b)).limit,
  );
});
