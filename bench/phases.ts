// The measured phases every proxy bench runs: sequential requests at c=1 (latency or time to first
// byte) and autocannon throughput at a fixed concurrency, each in interleaved rounds over the targets.
import type { Client } from 'undici';
import type { SimChild } from './child-processes.ts';
import { type Clock, cannon, openClient, sequential } from './load-drivers.ts';
import type { Phase, RoundCell } from './overhead-report.ts';
import { type BenchTarget, createProxyMeter } from './proxy-meter.ts';
import type { Workload } from './request-fixtures.ts';
import { p50p99 } from './sample-stats.ts';

/** How long each phase runs. */
export interface PhasePlan {
  c1Rounds: number;
  /** Sequential warm-up requests per target before each c=1 phase. */
  warmN: number;
  cNRounds: number;
  /** Seconds: measured run, warm-up before each measured run, warm-up before the first round. */
  cNSec: number;
  cNWarmSec: number;
  cNFirstWarmSec: number;
}

export type Progress = (msg: string) => void;

/** Round r visits the targets rotated by r (AB, BA, …), so drift over time hits each side alike. */
export function roundOrder<T>(items: readonly T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** c=1: sequential keep-alive requests, per round each target in turn; latency or TTFB in µs. */
export async function c1Phase(
  title: string,
  w: Workload,
  n: number,
  clock: Clock,
  targets: readonly BenchTarget[],
  sim: SimChild,
  plan: PhasePlan,
  progress: Progress,
): Promise<Phase> {
  progress(`${title}: warm-up ${plan.warmN} per target, then ${plan.c1Rounds} rounds × ${n} per target`);
  const clients = new Map<string, Client>(targets.map((t) => [t.name, openClient(t)]));
  const meter = createProxyMeter();
  const rounds: Array<Record<string, RoundCell>> = [];
  const all = new Map<string, Float64Array[]>(targets.map((t) => [t.name, []]));
  try {
    await sim.reset();
    for (const t of targets) await sequential(clients.get(t.name)!, t, w, plan.warmN, clock);
    for (let r = 0; r < plan.c1Rounds; r++) {
      const round: Record<string, RoundCell> = {};
      for (const t of roundOrder(targets, r)) {
        const res = await meter.around(t, () => sequential(clients.get(t.name)!, t, w, n, clock));
        round[t.name] = { ...p50p99(res.samples), errors: res.errors };
        all.get(t.name)!.push(res.samples);
      }
      rounds.push(round);
      await sim.reset();
    }
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  const pooled: NonNullable<Phase['pooled']> = {};
  for (const [name, parts] of all) pooled[name] = p50p99(concat(parts));
  return { kind: 'c1', title, perRound: `${n} req`, rounds, pooled, ...meter.result() };
}

/**
 * Throughput at `connections`: a first warm-up of every (workload, target), then rounds in which each
 * workload visits each target (rotated): a short warm-up, then the measured run.
 */
export async function throughputPhases(
  workloads: readonly Workload[],
  targets: readonly BenchTarget[],
  sim: SimChild,
  connections: number,
  plan: PhasePlan,
  progress: Progress,
): Promise<Phase[]> {
  progress(
    `throughput c=${connections}: warm-up, then ${plan.cNRounds} rounds × ${workloads.length} workloads × ` +
      `${targets.length} targets × (${plan.cNWarmSec} s warm-up + ${plan.cNSec} s)`,
  );
  for (const w of workloads) {
    for (const t of targets) {
      await cannon(t, w, connections, plan.cNFirstWarmSec);
      await sim.reset();
    }
  }
  const meters = workloads.map(() => createProxyMeter());
  const rounds = workloads.map(() => [] as Array<Record<string, RoundCell>>);
  for (let r = 0; r < plan.cNRounds; r++) {
    for (const perWorkload of rounds) perWorkload.push({});
    for (const [i, w] of workloads.entries()) {
      for (const t of roundOrder(targets, r)) {
        await cannon(t, w, connections, plan.cNWarmSec);
        await sim.reset();
        const res = await meters[i]!.around(t, () => cannon(t, w, connections, plan.cNSec));
        await sim.reset();
        rounds[i]![r]![t.name] = { p50: res.p50, p99: res.p99, rps: res.rps, errors: res.errors };
      }
    }
  }
  return workloads.map((w, i) => ({
    kind: 'cN' as const,
    title: `${w.name} c=${connections}`,
    perRound: `${plan.cNSec} s`,
    rounds: rounds[i]!,
    ...meters[i]!.result(),
  }));
}
