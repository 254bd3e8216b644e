// The five-hour share on a virtual clock with scripted quota windows: a client crossing 80, 95 and
// 100 % of its share gets one warning each, then 429s for it alone; a new window (the next poll's
// reset) serves it again and resolves the warnings once; while the window is unknown (a stale poll,
// or its reset passed before the next poll) the share is not judged at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdmissionRequest } from '../admission/index.ts';
import { openAdmission } from '../admission/index.ts';
import { createLocalStore } from '../admission/state-store.ts';
import { GatewayError } from '../errors.ts';
import type { ClientIdentity } from '../http/auth.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import type { QuotaWindowView } from '../quota/index.ts';
import { createBudgets, parseBudgets } from './index.ts';

const H = 3_600_000;
const alice: ClientIdentity = { kind: 'key', name: 'alice' };
const bob: ClientIdentity = { kind: 'key', name: 'bob' };

function rig() {
  let now = Date.parse('2026-12-01T12:00:00Z');
  let window: QuotaWindowView | null = null;
  const logs: string[] = [];
  const log = createLogger('info', { write: (l: string) => void logs.push(JSON.parse(l).msg) });
  const budgets = createBudgets(
    parseBudgets('{"clients":{"alice":{"five_hour_share":0.4},"bob":{"five_hour_share":0.4}}}'),
    'UTC',
    {
      store: createLocalStore({ path: null, maxAgeMs: 0, now: () => now, log }),
      now: () => now,
      log,
      metrics: createMetrics('test'),
      fiveHour: () => window,
    },
  );
  const admission = budgets.wrap(openAdmission);
  const req = (client: ClientIdentity): AdmissionRequest => ({
    client,
    api: 'anthropic',
    route: 'messages',
    model: 'glm-4.6',
    stream: false,
    attempt: 0,
  });
  return {
    /** The poller's view of the window: reset and used fraction, or null (no fresh sample). */
    poll(w: { resetAtMs: number; used: number } | null) {
      window = w === null ? null : { resetAtMs: w.resetAtMs, usedFraction: w.used, externalShare: 0 };
    },
    advance: (ms: number) => (now += ms),
    at: () => now,
    /** Admitted (true), or the 429's error. */
    async ask(c: ClientIdentity): Promise<true | GatewayError> {
      try {
        (await admission.acquire(req(c), new AbortController().signal)).release({ type: 'ok' }, 0);
        return true;
      } catch (err) {
        if (err instanceof GatewayError) return err;
        throw err;
      }
    },
    async spend(c: ClientIdentity, units: number) {
      budgets.record!(c, { tokens: units, usd: 0, plan_units: units });
      await budgets.settled();
    },
    budgetLines: () => logs.filter((l) => l.startsWith('Budget')),
    report: () => budgets.report(),
  };
}

test('five-hour share: 80, 95 and 100 % once each, 429 for that client alone, served again in the next window', async () => {
  const r = rig();
  const R1 = r.at() + 2 * H;
  r.poll({ resetAtMs: R1, used: 0.1 });
  assert.equal(await r.ask(alice), true);
  await r.spend(alice, 100); // alice: all the proxy sent, of a window 10 % used: a share of 10 %
  await r.spend(bob, 0);
  assert.deepEqual(r.budgetLines(), []);

  // The window fills with alice's work (bob sends nothing): her share follows each poll.
  for (const [used, why] of [
    [0.33, '82.5 % of her 40 %'],
    [0.34, 'still past 80 % only'],
    [0.385, '96 %'],
    [0.39, 'still past 95 % only'],
    [0.41, 'past her share'],
    [0.42, 'still past it'],
  ] as const) {
    r.poll({ resetAtMs: R1, used });
    assert.equal((await r.ask(alice)) === true, used < 0.4, why);
    await r.spend(alice, 10);
  }
  assert.deepEqual(r.budgetLines(), [
    'Budget warning: alice has used 80 % of five_hour_share (33 % of the five-hour window, limit 40 %); it resets at 2026-12-01T14:00:00Z',
    'Budget warning: alice has used 95 % of five_hour_share (38.5 % of the five-hour window, limit 40 %); it resets at 2026-12-01T14:00:00Z',
    'Budget exceeded: alice has used all of five_hour_share (41 % of the five-hour window, limit 40 %); new requests get 429 until 2026-12-01T14:00:00Z',
  ]);

  const refused = await r.ask(alice);
  assert.ok(refused instanceof GatewayError);
  assert.equal(refused.code, 'BUDGET_EXCEEDED');
  assert.equal(refused.retryAfterSec, 2 * 3600, 'Retry-After: until the window resets');
  assert.match(
    refused.message,
    /alice has used up its budget five_hour_share .*it resets at 2026-12-01T14:00:00Z/,
  );
  assert.equal(await r.ask(bob), true, 'bob has spent nothing of the window');

  // Past the reset, before the next poll: the window alice spent is over and the next is not known.
  r.advance(2 * H + 1);
  r.poll(null);
  assert.equal(await r.ask(alice), true);
  // The next poll shows the new window.
  const R2 = R1 + 5 * H;
  r.poll({ resetAtMs: R2, used: 0.02 });
  assert.equal(await r.ask(alice), true);
  await r.spend(alice, 10);
  assert.deepEqual(r.budgetLines().slice(3), [
    `Budget warning resolved: alice is back under 80 % of five_hour_share (period five_hour:${R1} ended)`,
    `Budget warning resolved: alice is back under 95 % of five_hour_share (period five_hour:${R1} ended)`,
    `Budget exceeded resolved: alice may spend five_hour_share again (period five_hour:${R1} ended)`,
  ]);
  const view = (await r.report()).clients as {
    client: string;
    refused: boolean;
    limits: { used: number }[];
  }[];
  assert.deepEqual(
    view.map((c) => [c.client, c.refused, c.limits[0]!.used]),
    [
      ['alice', false, 0.02],
      ['bob', false, 0],
    ],
  );
});

test('five-hour share without fresh window data: not judged (no 429, no warning fired or resolved) until a fresh poll', async () => {
  const r = rig();
  const R1 = r.at() + 3 * H;
  r.poll({ resetAtMs: R1, used: 0.5 });
  await r.spend(alice, 100);
  assert.ok((await r.ask(alice)) instanceof GatewayError, 'alice alone in a window 50 % used: over 40 %');
  const fired = r.budgetLines().length;
  assert.equal(fired, 3);

  r.advance(20 * 60_000);
  r.poll(null); // the poll has gone stale (the quota module's window() is then null)
  assert.equal(await r.ask(alice), true, 'served while the window is unknown');
  await r.spend(alice, 100);
  assert.equal(r.budgetLines().length, fired, 'nothing fired or resolved');
  const view = (await r.report()).clients as { client: string; refused: boolean; limits: unknown[] }[];
  assert.deepEqual(
    view.find((c) => c.client === 'alice'),
    {
      client: 'alice',
      refused: false,
      limits: [{ budget: 'five_hour_share', used: null, limit: 0.4, remaining: null, enforced: false }],
    },
  );

  r.poll({ resetAtMs: R1, used: 0.55 }); // fresh again, the same window
  assert.ok((await r.ask(alice)) instanceof GatewayError, 'refused again');
  await r.spend(alice, 10);
  assert.equal(r.budgetLines().length, fired, 'the warnings of this window fired already');
});
