// Admission simulation: the proxy's real admission engine (packages/proxy/src/admission/lanes.ts)
// against a synthetic Z.AI account, on a virtual clock with fixed seeds, so every run prints the
// same figures. Closed-loop clients (each sends its next request when the last one ends) keep demand
// above the cap; the hidden cap steps 1 → 5 → 2 → 8; one scenario lets other clients of the account
// take half of the cap; one adds a hidden request-rate cap. Per scenario and duration class it
// prints: time to 90 % of the cap after each step, goodput vs the ideal, the upstream 1302 ratio in
// steady state, client-visible failures and queue wait p50/p95.
//
//   node --import tsx bench/admission-sim.ts [--json] [--seeds 1,2,3]

import { AdmissionRefusal, createLanes, type LanesConfig } from '../packages/proxy/src/admission/lanes.ts';
import { lanesConfig } from '../packages/proxy/src/admission/settings.ts';
import { createLocalStore } from '../packages/proxy/src/admission/state-store.ts';
import { loadConfig } from '../packages/proxy/src/config.ts';
import { createLogger } from '../packages/proxy/src/log.ts';
import { decideRetry } from '../packages/proxy/src/upstream/retry-policy.ts';
import { classifyZaiError } from '../packages/proxy/src/upstream/zai-classifier.ts';
import { createVirtualClock } from '../packages/testkit/src/virtual-clock.ts';
import { createAccount, DURATIONS, type DurationClass, drawDuration, meanMs } from './admission-model.ts';
import { percentileSorted } from './sample-stats.ts';

interface Scenario {
  name: string;
  caps: number[];
  /** Share of the cap other clients of the account keep busy on average. */
  external: number;
  /** Hidden rate cap as a share of what the top cap could carry, or null. */
  rateShare: number | null;
  /** Clients sending, per phase: `extra` more than the usable cap, so demand always exceeds it. */
  extra: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'steps', caps: [1, 5, 2, 8], external: 0, rateShare: null, extra: 3 },
  // The account's cap is twice the usable one: other clients keep half of it busy on average.
  { name: 'steps, 50 % external load', caps: [2, 10, 4, 16], external: 0.5, rateShare: null, extra: 3 },
  { name: 'hidden rate cap', caps: [16, 16], external: 0, rateShare: 0.5, extra: 8 },
];
// The wait budget a deployment would set for the class: the default 60 s, or 15 min for minute-long requests.
const WAIT_BUDGET_MS: Record<string, string> = { seconds: '60s', minutes: '15m' };
const PHASE_DURATIONS = 60; // each phase lasts 60 median request durations
const UPSTREAM_REJECT_MS = 50; // a 1302/1303 comes back at once
const CLIENT_BACKOFF_MS = 5_000; // a refused client tries again after 5 s
const FREQUENCY_BODY = '{"error":{"code":"1303","message":"request frequency too high"}}';

interface PhaseResult {
  cap: number;
  available: number;
  timeTo90: number | null; // in median durations
  goodput: number;
  steady1302: number;
  steadyAttempts: number;
  steady1303: number;
}

interface RunResult {
  phases: PhaseResult[];
  failures: number;
  requests: number;
  waits: number[];
  attempts: number;
  rejected1302: number;
  rejected1303: number;
  clientSaw1302: number;
}

async function run(sc: Scenario, d: DurationClass, seed: number): Promise<RunResult> {
  const clock = createVirtualClock(Date.UTC(2026, 0, 1), seed);
  const log = createLogger('silent');
  const store = createLocalStore({ path: null, maxAgeMs: 1e12, now: clock.now, log });
  const mean = meanMs(d);
  // The shipped defaults; the rate scenario lowers the rate floor (1 req/s) below its hidden cap.
  const cfg: LanesConfig = lanesConfig(
    loadConfig({
      MAX_QUEUE_WAIT: WAIT_BUDGET_MS[d.name],
      ...(sc.rateShare === null ? {} : { RATE_LIMIT_MIN: '0.01' }),
    }),
  );
  const usable = (cap: number) => (sc.rateShare === null ? cap * (1 - sc.external) : sc.rateShare * cap);
  const clients = Math.ceil(Math.max(...sc.caps.map(usable))) + sc.extra;
  const noop = () => {};
  const lanes = createLanes(cfg, clock, store, {
    granted: noop,
    refused: noop,
    concurrencyChanged: noop,
    rateChanged: noop,
  });
  const account = createAccount(sc.caps[0]!, clock.now);
  const phaseMs = PHASE_DURATIONS * d.medianMs;
  const end = clock.now() + phaseMs * sc.caps.length;
  const t0 = clock.now();
  const phaseOf = (t: number) => Math.min(sc.caps.length - 1, Math.floor((t - t0) / phaseMs));
  const res: RunResult = {
    phases: [],
    failures: 0,
    requests: 0,
    waits: [],
    attempts: 0,
    rejected1302: 0,
    rejected1303: 0,
    clientSaw1302: 0,
  };
  const after = (ms: number, fn: () => void) => void clock.sleep(ms).then(fn);
  const steady = (t: number) => (t - t0) % phaseMs >= phaseMs / 2;
  const phaseCounters = sc.caps.map(() => ({ attempts: 0, r1302: 0, r1303: 0 }));

  // Other clients of the account: Poisson arrivals keeping `external × cap` busy on average.
  async function externalLoad(): Promise<void> {
    while (clock.now() < end) {
      const cap = account.cap;
      const lambda = (sc.external * cap) / mean; // per ms
      if (lambda <= 0) return;
      await clock.sleep(-Math.log(Math.max(clock.random(), 1e-12)) / lambda);
      account.external_arrive(drawDuration(d, clock.random), after);
    }
  }

  async function client(id: number): Promise<void> {
    const bucket = `client-${id}`;
    while (clock.now() < end) {
      if (id >= Math.ceil(usable(account.cap)) + sc.extra) {
        await clock.sleep(1000); // not sending in this phase
        continue;
      }
      const request = {};
      let retries = 0;
      let waited = 0;
      res.requests++;
      for (;;) {
        const tq = clock.now();
        let lease: Awaited<ReturnType<typeof lanes.acquire>>;
        try {
          lease = await lanes.acquire({ account: 'default', bucket, request }, new AbortController().signal);
        } catch (e) {
          if (!(e instanceof AdmissionRefusal)) throw e;
          res.failures++;
          waited += clock.now() - tq;
          await clock.sleep(CLIENT_BACKOFF_MS);
          break;
        }
        waited += clock.now() - tq;
        const p = phaseCounters[phaseOf(clock.now())]!;
        const counted = steady(clock.now());
        res.attempts++;
        if (counted) p.attempts++;
        const answer = account.arrive();
        if (answer === 'ok') {
          await clock.sleep(drawDuration(d, clock.random));
          account.end();
          lease.release('ok');
          break;
        }
        await clock.sleep(UPSTREAM_REJECT_MS);
        if (answer === 'concurrency') {
          res.rejected1302++;
          if (counted) p.r1302++;
          lease.release('concurrency'); // requeued at the head of its bucket: not a retry
          continue;
        }
        res.rejected1303++;
        if (counted) p.r1303++;
        lease.release('frequency');
        const decision = decideRetry({
          kind: 'status',
          status: 429,
          zai: classifyZaiError(429, FREQUENCY_BODY),
          headerRetryAfterMs: null,
          attempt: retries,
          maxRetries: 3,
          maxRetryWaitMs: 60_000,
          nowMs: clock.now(),
          random: clock.random,
        });
        if (!decision.retry) {
          res.failures++;
          break;
        }
        retries++;
        await clock.sleep(decision.delayMs);
      }
      res.waits.push(waited);
    }
  }

  // Steps the hidden cap; samples own running attempts against the available cap once a second.
  async function world(): Promise<void> {
    const sampleMs = Math.max(250, d.medianMs / 40);
    const window = Math.round(d.medianMs / sampleMs); // moving average over one median duration
    for (let i = 0; i < sc.caps.length; i++) {
      const cap = sc.caps[i]!;
      account.cap = cap;
      if (sc.rateShare !== null) account.setRateCap((sc.rateShare * cap * 1000) / mean);
      const start = clock.now();
      const used: number[] = [];
      const avail: number[] = [];
      let timeTo90: number | null = null;
      let goodOurs = 0;
      let goodIdeal = 0;
      while (clock.now() < start + phaseMs) {
        await clock.sleep(sampleMs);
        const a = Math.max(0, cap - account.external);
        const ideal = sc.rateShare === null ? a : Math.min(a, (sc.rateShare * cap * mean) / mean); // rate cap × duration
        used.push(account.ours);
        avail.push(ideal);
        goodOurs += account.ours;
        goodIdeal += ideal;
        if (timeTo90 === null && used.length >= window) {
          const u = used.slice(-window).reduce((x, y) => x + y, 0);
          const v = avail.slice(-window).reduce((x, y) => x + y, 0);
          if (v > 0 && u >= 0.9 * v) timeTo90 = (clock.now() - start - d.medianMs) / d.medianMs;
        }
      }
      const c = phaseCounters[i]!;
      res.phases.push({
        cap,
        available: goodIdeal / (phaseMs / sampleMs),
        timeTo90: timeTo90 === null ? null : Math.max(0, timeTo90),
        goodput: goodIdeal > 0 ? goodOurs / goodIdeal : 1,
        steady1302: c.r1302,
        steadyAttempts: c.attempts,
        steady1303: c.r1303,
      });
    }
  }

  const all = [world(), externalLoad(), ...Array.from({ length: clients }, (_, i) => client(i))];
  const done = Promise.all(all);
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  while (!finished) {
    if (!(await clock.step())) await clock.settle();
    if (clock.now() > end + 3_600_000) break; // clients finishing their last requests
  }
  return res;
}

function fmt(v: number | null, digits = 1): string {
  return v === null ? 'never' : v.toFixed(digits);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const si = process.argv.indexOf('--seeds');
  const seeds = si === -1 ? [1, 2, 3] : process.argv[si + 1]!.split(',').map(Number);
  const out: unknown[] = [];
  for (const sc of SCENARIOS) {
    for (const d of DURATIONS) {
      const runs: RunResult[] = [];
      for (const seed of seeds) runs.push(await run(sc, d, seed));
      const waits = Float64Array.from(runs.flatMap((r) => r.waits)).sort();
      const phases = sc.caps.map((cap, i) => {
        const ps = runs.map((r) => r.phases[i]!);
        const t90 = ps.map((p) => p.timeTo90);
        const attempts = ps.reduce((s, p) => s + p.steadyAttempts, 0);
        return {
          cap,
          available: ps.reduce((s, p) => s + p.available, 0) / ps.length,
          timeTo90: t90.includes(null) ? null : Math.max(...(t90 as number[])),
          goodput: ps.reduce((s, p) => s + p.goodput, 0) / ps.length,
          steady1302Ratio: attempts > 0 ? ps.reduce((s, p) => s + p.steady1302, 0) / attempts : 0,
          steady1303Ratio: attempts > 0 ? ps.reduce((s, p) => s + p.steady1303, 0) / attempts : 0,
        };
      });
      const row = {
        scenario: sc.name,
        durations: d.name,
        seeds,
        requests: runs.reduce((s, r) => s + r.requests, 0),
        failures: runs.reduce((s, r) => s + r.failures, 0),
        upstream1302: runs.reduce((s, r) => s + r.rejected1302, 0),
        upstream1303: runs.reduce((s, r) => s + r.rejected1303, 0),
        attempts: runs.reduce((s, r) => s + r.attempts, 0),
        waitP50s: percentileSorted(waits, 0.5) / 1000,
        waitP95s: percentileSorted(waits, 0.95) / 1000,
        phases,
      };
      out.push(row);
      if (!json) {
        console.log(
          `\n## ${sc.name} — ${d.name} (median ${d.medianMs / 1000} s, wait budget ${WAIT_BUDGET_MS[d.name]}, seeds ${seeds.join(',')})`,
        );
        console.log(
          `requests ${row.requests}, client-visible failures ${row.failures}, upstream 1302 ${row.upstream1302} / ${row.attempts} attempts, 1303 ${row.upstream1303}, queue wait p50 ${row.waitP50s.toFixed(1)} s p95 ${row.waitP95s.toFixed(1)} s`,
        );
        console.log(
          '| cap | usable | time to 90 % (durations, worst seed) | goodput vs ideal | steady 1302 ratio | steady 1303 ratio |',
        );
        console.log('|---|---|---|---|---|---|');
        for (const p of phases)
          console.log(
            `| ${p.cap} | ${p.available.toFixed(1)} | ${fmt(p.timeTo90)} | ${(100 * p.goodput).toFixed(0)} % | ${(100 * p.steady1302Ratio).toFixed(2)} % | ${(100 * p.steady1303Ratio).toFixed(2)} % |`,
          );
      }
    }
  }
  if (json) console.log(JSON.stringify(out, null, 2));
}

await main();
