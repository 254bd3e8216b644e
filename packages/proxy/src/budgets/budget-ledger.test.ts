import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalStore } from '../admission/state-store.ts';
import type { ClientIdentity } from '../http/auth.ts';
import { createLogger } from '../log.ts';
import { parseBudgets } from './budget-config.ts';
import { createLedger } from './budget-ledger.ts';

const alice: ClientIdentity = { kind: 'key', name: 'alice' };
const bob: ClientIdentity = { kind: 'key', name: 'bob' };
const cfg = parseBudgets('{"default":{"tokens_per_day":100,"usd_per_day":1}}');
const spent = (tokens: number) => ({ tokens, usd: tokens / 1000, plan_units: tokens });

function rig(
  store = createLocalStore({ path: null, maxAgeMs: 0, now: Date.now, log: createLogger('silent') }),
) {
  let now = Date.parse('2026-12-01T12:00:00Z');
  const events: string[] = [];
  const ledger = createLedger(cfg, 'UTC', {
    store,
    now: () => now,
    fiveHour: () => null,
    onError: (e) => assert.fail(String(e)),
    fired: (st, r, t) => events.push(`fire ${st.name} ${r.limit.name} ${t}`),
    resolved: (st, r, t) => events.push(`resolve ${st.name} ${r.limit.name} ${t} ${r.periodId}`),
  });
  return { ledger, events, store, advance: (ms: number) => (now += ms), at: () => now };
}

test('amounts add up per client and period; each threshold is reported once', async () => {
  const { ledger, events } = rig();
  for (const n of [50, 30, 5, 10, 10, 10]) {
    ledger.record(alice, spent(n));
    await ledger.settle();
  }
  ledger.record(bob, spent(1));
  await ledger.settle();
  assert.deepEqual(events, [
    'fire alice tokens_per_day 0.8',
    'fire alice tokens_per_day 0.95',
    'fire alice tokens_per_day 1',
  ]);
  const r = ledger.readings(ledger.stateOfClient(alice)!);
  assert.equal(r[0]!.used, 115);
  assert.ok(Math.abs(r[1]!.used - 0.115) < 1e-12, 'usd_per_day adds USD');
});

test('two ledgers on one store (two replicas): one total, each warning reported by one of them', async () => {
  const a = rig();
  const b = rig(a.store);
  a.ledger.record(alice, spent(60));
  await a.ledger.settle();
  b.ledger.record(alice, spent(30)); // 90: crosses 80 % on b
  await b.ledger.settle();
  const st = a.ledger.stateOfClient(alice)!;
  await a.ledger.load(st); // a reads the shared documents (a refresh)
  await a.ledger.settle();
  assert.equal(a.ledger.readings(st)[0]!.used, 90);
  assert.deepEqual([...a.events, ...b.events], ['fire alice tokens_per_day 0.8']);
});

test('a new day resolves the last one’s warnings once, also after a restart', async () => {
  const first = rig();
  first.ledger.record(alice, spent(120));
  await first.ledger.settle();
  first.advance(24 * 3_600_000);
  // A restarted process on the same store: its first sight of alice reads the finished day too.
  const second = rig(first.store);
  second.advance(24 * 3_600_000);
  const st = second.ledger.stateOfClient(alice)!;
  assert.equal(second.ledger.fresh(st, second.at()), false);
  await second.ledger.load(st);
  await second.ledger.settle();
  assert.deepEqual(second.events, [
    'resolve alice tokens_per_day 0.8 day:2026-12-01',
    'resolve alice tokens_per_day 0.95 day:2026-12-01',
    'resolve alice tokens_per_day 1 day:2026-12-01',
  ]);
  assert.equal(second.ledger.readings(st)[0]!.used, 0);
  await second.ledger.load(st);
  await second.ledger.settle();
  assert.equal(second.events.length, 3, 'resolved once');
});

test('two replicas crossing a threshold at the same moment: the warning is reported by one', async () => {
  const a = rig();
  const b = rig(a.store);
  a.ledger.record(alice, spent(85)); // both adds land before either sees the other's answer
  b.ledger.record(alice, spent(1));
  await Promise.all([a.ledger.settle(), b.ledger.settle()]);
  assert.deepEqual([...a.events, ...b.events], ['fire alice tokens_per_day 0.8']);
  const doc = await a.store.counters('budget:alice:day:2026-12-01');
  assert.equal(doc.tokens, 86);
  assert.equal(doc['warn:tokens_per_day:0.8'], 2, 'both set the flag; only the first add made it 1');
});
