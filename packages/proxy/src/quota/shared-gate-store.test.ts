import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGatekeeper, SHARED_ACCOUNT } from './gatekeeper.ts';
import { createSharedGateStore, type DocumentStore } from './shared-gate-store.ts';

const T0 = Date.UTC(2026, 8, 5, 14, 0, 0);
const H = 3_600_000;

/** One document store two replicas share (what Redis is in production), with TTLs on its clock. */
function docs(now: () => number): DocumentStore & { keys(): string[]; ttls: Map<string, number> } {
  const m = new Map<string, { v: string; until: number }>();
  const ttls = new Map<string, number>();
  return {
    ttls,
    keys: () => [...m.keys()],
    get: async (k) => {
      const d = m.get(k);
      return d === undefined || (d.until > 0 && now() >= d.until) ? null : JSON.parse(d.v);
    },
    set: async (k, v, ttl = 0) => {
      ttls.set(k, ttl);
      m.set(k, { v: JSON.stringify(v), until: ttl > 0 ? now() + ttl : 0 });
    },
    delete: async (k) => {
      m.delete(k);
    },
  };
}

function replica(d: DocumentStore, now: () => number) {
  const store = createSharedGateStore({
    docs: d,
    now,
    refreshMs: 60_000,
    probeIntervalMs: 300_000,
    onError: (e) => assert.fail(String(e)),
  });
  const gate = createGatekeeper({
    store,
    now,
    probeIntervalMs: 300_000,
    enforcement: false,
    reserveFraction: 0.05,
  });
  return { store, gate };
}

test('a gate closed on one replica closes on the other after a refresh; reopening is shared too', async () => {
  let t = T0;
  const now = () => t;
  const d = docs(now);
  const a = replica(d, now);
  const b = replica(d, now);
  assert.equal(b.gate.check(SHARED_ACCOUNT).admit, true); // b now knows the account
  a.gate.closeOnAnswer(SHARED_ACCOUNT, 'weekly', T0 + 48 * H);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(d.keys(), ['quota-gate:shared']);
  assert.equal(d.ttls.get('quota-gate:shared'), 48 * H, 'the document expires with the reset');
  await b.store.refresh();
  assert.deepEqual(b.gate.check(SHARED_ACCOUNT), {
    admit: false,
    window: 'weekly',
    retryAfterSec: 48 * 3600,
    probing: false,
  });
  t = T0 + 48 * H;
  await b.store.refresh();
  assert.equal(b.gate.check(SHARED_ACCOUNT).admit, true);
  await a.store.close();
  await b.store.close();
});

test('an account first seen on a replica is read from the shared store', async () => {
  const now = () => T0;
  const d = docs(now);
  const a = replica(d, now);
  a.gate.closeOnAnswer('sha256:00000000000000aa', 'five_hour', T0 + H);
  await new Promise((r) => setImmediate(r));
  const b = replica(d, now);
  b.gate.check('sha256:00000000000000aa'); // starts the read
  await new Promise((r) => setImmediate(r));
  assert.equal(b.gate.check('sha256:00000000000000aa').admit, false);
  assert.equal(b.gate.check('sha256:00000000000000bb').admit, true);
  await a.store.close();
  await b.store.close();
});

test('the half-open probe is taken once across replicas per interval', async () => {
  let t = T0;
  const now = () => t;
  const d = docs(now);
  const a = replica(d, now);
  const b = replica(d, now);
  a.gate.closeOnAnswer(SHARED_ACCOUNT, 'daily', null);
  await new Promise((r) => setImmediate(r));
  await b.store.refresh();
  t += 300_000;
  assert.equal(a.gate.check(SHARED_ACCOUNT).admit, true);
  assert.equal(await a.gate.takeProbe(SHARED_ACCOUNT), true);
  assert.equal(await b.gate.takeProbe(SHARED_ACCOUNT), false);
  await a.store.close();
  await b.store.close();
});

test('malformed shared documents are ignored', async () => {
  const now = () => T0;
  const d = docs(now);
  await d.set('quota-gate:shared', [
    { window: 'monthly', source: 'zai', closedAtMs: 1 },
    'x',
    { window: 'weekly', source: 'zai' },
  ]);
  const b = replica(d, now);
  b.gate.check(SHARED_ACCOUNT);
  await b.store.refresh();
  assert.equal(b.gate.check(SHARED_ACCOUNT).admit, true);
  await b.store.close();
});
