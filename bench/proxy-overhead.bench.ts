// What does the proxy add? Latency and stream time-to-first-byte at c=1, and throughput at c=32,
// direct to the simulated Z.AI upstream vs through zai-proxy, interleaved in one run.
// Load generator (this process), proxy and sim each run in their own process.
// Usage: node --import tsx bench/proxy-overhead.bench.ts [--quick] [--json] [--counting] [--admission]
//        [--access-log] [--routing] [--budgets] [--baseline=<tree>]
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, startProxyChild, startSimChild } from './child-processes.ts';
import { jsonReport, type Phase, textReport } from './overhead-report.ts';
import { c1Phase, type PhasePlan, throughputPhases } from './phases.ts';
import type { BenchTarget } from './proxy-meter.ts';
import { ANTHROPIC_JSON, ANTHROPIC_SSE, DIRECT_PATHS, OPENAI_JSON, PROXY_PATHS } from './request-fixtures.ts';

const args = process.argv.slice(2);
const flags = new Set(args);
// --baseline=<tree>: a checkout of an earlier commit (git worktree) whose proxy runs as one more
// target before this one, so "proxy ÷ proxy@base" compares the two commits interleaved in one run.
const BASELINE = args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const QUICK = flags.has('--quick');
const JSON_OUT = flags.has('--json');
const COUNTING = flags.has('--counting'); // adds a proxy with TOKEN_COUNTING_ENABLED=true
// Adds a counting proxy whose every request passes a budget (a default budget that never runs out):
// the budget check before, and the spent amounts written after, each request.
const BUDGETS = flags.has('--budgets');
// --admission adds a proxy whose concurrency limit, fair queue and rate limiter all run, with limits
// far above the load: what admission costs when it limits nothing.
const ADMISSION = flags.has('--admission');
// --routing adds a proxy with a MODEL_MAP whose last rule rewrites every fixture's model: three
// rules tried and one splice per request, what routing costs when it is on.
const ROUTING = flags.has('--routing');
const ROUTING_MAP = 'claude-*haiku*=glm-4.5-air,claude-*=glm-4.6,glm-*=glm-4.7';
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
// --access-log: `proxy` logs at info (to /dev/null) with ACCESS_LOG=false, and one more proxy,
// `proxy+access`, the same with ACCESS_LOG=true: `proxy+access ÷ proxy` is the access line's cost.
const ACCESS = flags.has('--access-log');
const LOG_INFO = { LOG_LEVEL: 'info', BENCH_LOG_DEVNULL: '1' };

interface Plan extends PhasePlan {
  /** Sequential requests per target per round: Anthropic JSON, Anthropic SSE (TTFB), OpenAI JSON. */
  jsonN: number;
  ttfbN: number;
  openaiN: number;
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
  (QUICK ? 90 : 200) *
  1000 *
  (COUNTING || BUDGETS ? 1.5 : 1) *
  (BUDGETS ? 1.3 : 1) *
  (ADMISSION ? 1.5 : 1) *
  (ROUTING ? 1.5 : 1) *
  (BASELINE ? 1.5 : 1) *
  (ACCESS ? 1.5 : 1); // hard stop, whatever happens

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

async function main(): Promise<number> {
  progress(`starting sim and proxy processes (${QUICK ? 'quick' : 'full'} run)`);
  const sim = await startSimChild();
  children.push(sim);
  const proxyList = await Promise.all([
    ...(BASELINE === undefined ? [] : [startProxyChild('proxy@base', sim.url, {}, BASELINE)]),
    startProxyChild('proxy', sim.url, ACCESS ? { ...LOG_INFO, ACCESS_LOG: 'false' } : {}),
    ...(ACCESS ? [startProxyChild('proxy+access', sim.url, { ...LOG_INFO, ACCESS_LOG: 'true' })] : []),
    ...(COUNTING || BUDGETS
      ? [startProxyChild('proxy+count', sim.url, { TOKEN_COUNTING_ENABLED: 'true' })]
      : []),
    ...(BUDGETS
      ? [
          startProxyChild('proxy+budgets', sim.url, {
            TOKEN_COUNTING_ENABLED: 'true',
            CLIENT_BUDGETS: '{"default":{"tokens_per_day":1e15,"usd_per_month":1e12,"max_in_flight":10000}}',
            RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-bench-budgets-${process.pid}.json`),
          }),
        ]
      : []),
    ...(ADMISSION ? [startProxyChild('proxy+adm', sim.url, ADMISSION_ENV)] : []),
    ...(ROUTING ? [startProxyChild('proxy+route', sim.url, { MODEL_MAP: ROUTING_MAP })] : []),
  ]);
  children.push(...proxyList);

  const counting: Record<string, unknown> = {};
  for (const p of proxyList) counting[p.name] = JSON.parse(await getText(`${p.url}/health`)).token_counting;
  for (const p of proxyList) {
    const on = (counting[p.name] as { enabled?: boolean } | undefined)?.enabled === true;
    if (on !== (p.name === 'proxy+count' || p.name === 'proxy+budgets'))
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
    await c1Phase('anthropic json', ANTHROPIC_JSON, PLAN.jsonN, 'last-byte', targets, sim, PLAN, progress),
    await c1Phase(
      'anthropic sse TTFB',
      ANTHROPIC_SSE,
      PLAN.ttfbN,
      'first-byte',
      targets,
      sim,
      PLAN,
      progress,
    ),
    await c1Phase('openai json', OPENAI_JSON, PLAN.openaiN, 'last-byte', targets, sim, PLAN, progress),
  ];
  const cN = await throughputPhases(
    [ANTHROPIC_JSON, ANTHROPIC_SSE],
    targets,
    sim,
    CONNECTIONS,
    PLAN,
    progress,
  );

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
