// CPU per streamed event: N paced streams (20 events/s for 20 s, as the suite's capacity steps)
// through each target, one after another, with the direct upstream first; for each, the CPU its
// process tree (and, for zai-proxy, its main thread) spent per event, the sim's, and the gap p99.
// The question it answers: at how many streams does a target need more than the machine has?
// Usage: node --import tsx bench/stream-cpu.bench.ts [--streams=250] [--targets=proxy,proxy-bare,nginx]
//        [--profile=DIR]   (DIR gets a .cpuprofile of each zai-proxy target over its measured run)
// Needs `npm run build` (zai-proxy runs from dist, as in production) and nginx-light for nginx.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, startSimChild } from './child-processes.ts';
import { BARE_ENV, fullEnv } from './feature-env.ts';
import { findNginx, NGINX_INSTALL, procStats, startNginx, startProductionProxy } from './peer-processes.ts';
import { pacedStream } from './request-fixtures.ts';
import { p50p99 } from './sample-stats.ts';
import { startStreamClients } from './stream-load.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const STREAMS = Number(flag('streams') ?? 250);
const TARGETS = (flag('targets') ?? 'proxy,proxy-bare,nginx').split(',');
const PROFILE = flag('profile');
const CLK_US = 1e6 / 100; // /proc ticks (USER_HZ 100) in µs
const PRELOAD = fileURLToPath(new URL('./profile-preload.mjs', import.meta.url));

if (PROFILE !== undefined) mkdirSync(PROFILE, { recursive: true });
const s = pacedStream(400, 50);
const sim = await startSimChild();
const clients = startStreamClients(4);

/** CPU µs of a process's main thread (its first task), from /proc. */
function mainThreadUs(pid: number): number {
  const st = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * CLK_US;
}

async function start(name: string): Promise<{ child: Child | null; path: string }> {
  const simPath = '/api/anthropic/v1/messages';
  if (name === 'direct') return { child: null, path: simPath };
  if (name === 'nginx') {
    const bin = findNginx();
    if (bin === null) throw new Error(`nginx not found: ${NGINX_INSTALL}`);
    return { child: await startNginx(bin, sim.url), path: simPath };
  }
  const env = name === 'proxy' ? fullEnv(sim.url) : BARE_ENV;
  const preload = {
    NODE_OPTIONS: `--import=${PRELOAD}`,
    ...(PROFILE ? { PROFILE_DIR: resolve(PROFILE) } : {}),
  };
  return { child: await startProductionProxy(name, sim.url, { ...env, ...preload }), path: '/v1/messages' };
}

const rows: string[] = [];
let directP99 = 0;
for (const name of ['direct', ...TARGETS]) {
  const { child, path } = await start(name);
  const origin = child?.url ?? sim.url;
  const run = (n: number, rampMs: number) =>
    clients.run({
      origin,
      path,
      headers: s.headers,
      body: s.body.toString(),
      streams: n,
      rampMs,
      intervalMs: s.intervalMs,
      timeoutMs: s.events * s.intervalMs + 30_000,
    });
  await run(Math.min(100, STREAMS), 200); // warm-up, not measured
  const node = child !== null && name !== 'nginx';
  if (node) child.process.kill('SIGUSR2');
  const pid = child?.process.pid;
  const before = {
    t: pid ? procStats(pid).cpuUs : 0,
    m: node ? mainThreadUs(pid!) : 0,
    s: procStats(sim.process.pid!).cpuUs,
  };
  const r = await run(STREAMS, 2_000);
  const after = {
    t: pid ? procStats(pid).cpuUs : 0,
    m: node ? mainThreadUs(pid!) : 0,
    s: procStats(sim.process.pid!).cpuUs,
  };
  if (node) child.process.kill('SIGUSR2');
  const p99 = p50p99(r.lateMs).p99;
  if (name === 'direct') directP99 = p99;
  const per = (us: number) => (us / r.events).toFixed(1);
  rows.push(
    [
      name.padEnd(10),
      pid ? per(after.t - before.t).padStart(8) : '       -',
      node ? per(after.m - before.m).padStart(8) : '       -',
      per(after.s - before.s).padStart(6),
      p99.toFixed(1).padStart(8),
      (name === 'direct' ? '' : `+${(p99 - directP99).toFixed(1)}`).padStart(8),
      String(r.errors).padStart(6),
    ].join('  '),
  );
  await new Promise((done) => setTimeout(done, 500)); // the profile is written
  child?.process.kill(name === 'nginx' ? 'SIGTERM' : 'SIGKILL');
}
clients.stop();
sim.process.kill('SIGKILL');
process.stdout.write(
  `stream CPU per event, ${STREAMS} streams × ${s.events} events ${s.intervalMs} ms apart, ${new Date().toISOString()}\n` +
    'proxy = every feature on (as bench:suite); proxy-bare = counting, admission, quota poller, access log off\n' +
    'target      tree µs    main µs  sim µs  gap p99  added ms  errors\n' +
    `${rows.join('\n')}\n` +
    (PROFILE
      ? `profiles: ${readdirSync(PROFILE)
          .filter((f) => f.endsWith('.cpuprofile'))
          .join(', ')} in ${PROFILE}\n`
      : ''),
);
process.exit(0);
