// What does the proxy add? Latency and stream time-to-first-byte at c=1, and throughput at c=32,
// direct to the simulated Z.AI upstream vs through zai-proxy, interleaved in one run.
// Load generator (this process), proxy and sim each run in their own process.
// Usage: node --import tsx bench/proxy-overhead.bench.ts [--quick] [--json] [--counting] [--admission]
//        [--baseline=<tree>]
import { availableParallelism } from 'node:os';
import type { Client } from 'undici';
import { type Child, type SimChild, startProxyChild, startSimChild } from './child-processes.ts';
import { type Clock, cannon, openClient, sequential } from './load-drivers.ts';
import { jsonReport, type Phase, type RoundCell, textReport } from './overhead-report.ts';
import { type BenchTarget, createProxyMeter } from './proxy-meter.ts';
import {
  ANTHROPIC_JSON,
  ANTHROPIC_SSE,
  DIRECT_PATHS,
  OPENAI_JSON,
  PROXY_PATHS,
  type Workload,
} from './request-fixtures.ts';
import { p50p99 } from './sample-stats.ts';

const args = process.argv.slice(2);
const flags = new Set(args);
// --baseline=<tree>: a checkout of an earlier commit (git worktree) whose proxy runs as one more
// target before this one, so "proxy ÷ proxy@base" compares the two commits interleaved in one run.
const BASELINE = args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const QUICK = flags.has('--quick');
const JSON_OUT = flags.has('--json');
const COUNTING = flags.has('--counting'); // adds a proxy with TOKEN_COUNTING_ENABLED=true
// --admission adds a proxy whose concurrency limit, fair queue and rate limiter all run, with limits
// far above the load: what admission costs when it limits nothing.
const ADMISSION = flags.has('--admission');
const ADMISSION_ENV = {
  CONCURRENCY_ENABLED: 'true',
  CONCURRENCY_INITIAL: '1000',
  CONCURRENCY_MIN: '1000',
  CONCURRENCY_MAX: '1000',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_INITIAL: '1000000',
  RATE_LIMIT_MIN: '1000000',
  RATE_LIMIT_MAX: '1000000',
  MAX_WORKERS: '1000',
};

interface Plan {
  c1Rounds: number;
  /** Sequential requests per target per round: Anthropic JSON, Anthropic SSE (TTFB), OpenAI JSON. */
  jsonN: number;
  ttfbN: number;
  openaiN: number;
  /** Sequential warm-up requests per target before each c=1 phase. */
  warmN: number;
  cNRounds: number;
  /** Seconds: measured run, warm-up before each measured run, warm-up before the first round. */
  cNSec: number;
  cNWarmSec: number;
  cNFirstWarmSec: number;
}

const PLAN: Plan = QUICK
  ? {
      c1Rounds: 2,
      jsonN: 200,
      ttfbN: 100,
      openaiN: 100,
      warmN: 50,
      cNRounds: 2,
      cNSec: 1,
      cNWarmSec: 1,
      cNFirstWarmSec: 1,
    }
  : {
      c1Rounds: 5,
      jsonN: 1000,
      ttfbN: 400,
      openaiN: 400,
      warmN: 200,
      cNRounds: 3,
      cNSec: 5,
      cNWarmSec: 1,
      cNFirstWarmSec: 2,
    };
const CONNECTIONS = 32;
const BUDGET_MS =
  (QUICK ? 90 : 200) * 1000 * (COUNTING ? 1.5 : 1) * (ADMISSION ? 1.5 : 1) * (BASELINE ? 1.5 : 1); // hard stop, whatever happens

const children: Child[] = [];
const started = Date.now();
const progress = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

function killAll(): void {
  for (const c of children) c.process.kill('SIGKILL');
}
setTimeout(() => {
  process.stderr.write(`bench: over its ${BUDGET_MS / 1000} s budget, stopping\n`);
  killAll();
  process.exit(2);
}, BUDGET_MS).unref();
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

async function getText(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

/** Round r visits the targets rotated by r (AB, BA, …), so drift over time hits each side alike. */
function roundOrder<T>(items: readonly T[], r: number): T[] {
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
async function c1Phase(
  title: string,
  w: Workload,
  n: number,
  clock: Clock,
  targets: readonly BenchTarget[],
  sim: SimChild,
): Promise<Phase> {
  progress(`${title}: warm-up ${PLAN.warmN} per target, then ${PLAN.c1Rounds} rounds × ${n} per target`);
  const clients = new Map<string, Client>(targets.map((t) => [t.name, openClient(t)]));
  const meter = createProxyMeter();
  const rounds: Array<Record<string, RoundCell>> = [];
  const all = new Map<string, Float64Array[]>(targets.map((t) => [t.name, []]));
  try {
    await sim.reset();
    for (const t of targets) await sequential(clients.get(t.name)!, t, w, PLAN.warmN, clock);
    for (let r = 0; r < PLAN.c1Rounds; r++) {
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
 * Throughput at CONNECTIONS: a first warm-up of every (workload, target), then rounds in which each
 * workload visits each target (rotated): a short warm-up, then the measured run.
 */
async function throughputPhases(
  workloads: readonly Workload[],
  targets: readonly BenchTarget[],
  sim: SimChild,
): Promise<Phase[]> {
  progress(
    `throughput c=${CONNECTIONS}: warm-up, then ${PLAN.cNRounds} rounds × ${workloads.length} workloads × ` +
      `${targets.length} targets × (${PLAN.cNWarmSec} s warm-up + ${PLAN.cNSec} s)`,
  );
  for (const w of workloads) {
    for (const t of targets) {
      await cannon(t, w, CONNECTIONS, PLAN.cNFirstWarmSec);
      await sim.reset();
    }
  }
  const meters = workloads.map(() => createProxyMeter());
  const rounds = workloads.map(() => [] as Array<Record<string, RoundCell>>);
  for (let r = 0; r < PLAN.cNRounds; r++) {
    for (const perWorkload of rounds) perWorkload.push({});
    for (const [i, w] of workloads.entries()) {
      for (const t of roundOrder(targets, r)) {
        await cannon(t, w, CONNECTIONS, PLAN.cNWarmSec);
        await sim.reset();
        const res = await meters[i]!.around(t, () => cannon(t, w, CONNECTIONS, PLAN.cNSec));
        await sim.reset();
        rounds[i]![r]![t.name] = { p50: res.p50, p99: res.p99, rps: res.rps, errors: res.errors };
      }
    }
  }
  return workloads.map((w, i) => ({
    kind: 'cN' as const,
    title: `${w.name} c=${CONNECTIONS}`,
    perRound: `${PLAN.cNSec} s`,
    rounds: rounds[i]!,
    ...meters[i]!.result(),
  }));
}

async function main(): Promise<number> {
  progress(`starting sim and proxy processes (${QUICK ? 'quick' : 'full'} run)`);
  const sim = await startSimChild();
  children.push(sim);
  const proxyList = await Promise.all([
    ...(BASELINE === undefined ? [] : [startProxyChild('proxy@base', sim.url, {}, BASELINE)]),
    startProxyChild('proxy', sim.url),
    ...(COUNTING ? [startProxyChild('proxy+count', sim.url, { TOKEN_COUNTING_ENABLED: 'true' })] : []),
    ...(ADMISSION ? [startProxyChild('proxy+adm', sim.url, ADMISSION_ENV)] : []),
  ]);
  children.push(...proxyList);

  const counting: Record<string, unknown> = {};
  for (const p of proxyList) counting[p.name] = JSON.parse(await getText(`${p.url}/health`)).token_counting;
  for (const p of proxyList) {
    const on = (counting[p.name] as { enabled?: boolean } | undefined)?.enabled === true;
    if (on !== (p.name === 'proxy+count'))
      progress(`warning: ${p.name} reports token counting ${on ? 'on' : 'off'}`);
    if (p.name === 'proxy@base') continue; // an older tree may have no admission
    const adm = JSON.parse(await getText(`${p.url}/health`)).concurrency?.enabled === true;
    if (adm !== (p.name === 'proxy+adm'))
      progress(`warning: ${p.name} reports admission ${adm ? 'on' : 'off'}`);
  }

  const targets: BenchTarget[] = [
    { name: 'direct', origin: sim.url, paths: DIRECT_PATHS, proxy: null },
    ...proxyList.map((p) => ({ name: p.name, origin: p.url, paths: PROXY_PATHS, proxy: p })),
  ];
  const names = targets.map((t) => t.name);
  const MB = 1024 * 1024;
  const rssIdle = Object.fromEntries(
    await Promise.all(proxyList.map(async (p) => [p.name, (await p.stats()).rssBytes / MB] as const)),
  );

  const c1: Phase[] = [
    await c1Phase('anthropic json', ANTHROPIC_JSON, PLAN.jsonN, 'last-byte', targets, sim),
    await c1Phase('anthropic sse TTFB', ANTHROPIC_SSE, PLAN.ttfbN, 'first-byte', targets, sim),
    await c1Phase('openai json', OPENAI_JSON, PLAN.openaiN, 'last-byte', targets, sim),
  ];
  const cN = await throughputPhases([ANTHROPIC_JSON, ANTHROPIC_SSE], targets, sim);

  const rss = Object.fromEntries(
    await Promise.all(
      proxyList.map(async (p) => {
        const st = await p.stats();
        return [
          p.name,
          { idleMb: rssIdle[p.name]!, endMb: st.rssBytes / MB, peakMb: st.maxRssKb / 1024 },
        ] as const;
      }),
    ),
  );
  const errors = [...c1, ...cN]
    .flatMap((p) => p.rounds.flatMap((r) => Object.values(r)))
    .reduce((a, c) => a + c.errors, 0);
  const meta = {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    node: process.version,
    cpus: availableParallelism(),
    connections: CONNECTIONS,
    plan: PLAN,
    tokenCounting: counting,
    proxyRss: rss,
    errors,
    seconds: Math.round((Date.now() - started) / 1000),
  };

  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(jsonReport(meta, c1, cN, names), null, 2)}\n`);
  } else {
    process.stdout.write(`${textReport(meta, c1, cN, names)}\n`);
  }
  return errors === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
process.exit(code);
