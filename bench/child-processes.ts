// Starts the bench's sim and proxy as child processes (each on its own event loop) and stops them.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { ChildStats } from './child-control.ts';

export const BENCH_KEY = 'zai-bench-KEY-0123456789abcdef';

const READY_TIMEOUT_MS = 30_000; // 30 s: tsx compiles the sim on first start
const STOP_TIMEOUT_MS = 3_000; // 3 s, then SIGKILL
const ASK_TIMEOUT_MS = 5_000; // 5 s for a child to answer over IPC

/** A running child that printed `listening <url>`. */
export interface Child {
  readonly name: string;
  readonly url: string;
  readonly process: ChildProcess;
  /** CPU time and memory of the child, over IPC. */
  stats(): Promise<ChildStats>;
  /** Runs a command the child serves (see child-control.ts) and waits for its acknowledgement. */
  command(type: string): Promise<void>;
  stop(): Promise<void>;
}

export interface SimChild extends Child {
  /** Clears the sim's journal (it keeps every request body) and waits for the acknowledgement. */
  reset(): Promise<void>;
}

interface Reply {
  id: number;
  ok: boolean;
  stats?: ChildStats;
}

/** Sends one command over IPC and waits for its reply (matched by id). */
function ask(child: ChildProcess, name: string, type: string, id: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`${name}: no answer to ${type} within ${ASK_TIMEOUT_MS} ms`));
    }, ASK_TIMEOUT_MS);
    function onMessage(msg: Reply): void {
      if (msg.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (msg.ok) resolve(msg);
      else reject(new Error(`${name}: ${type} refused`));
    }
    child.on('message', onMessage);
    child.send({ type, id });
  });
}

/** Environment a child may inherit: enough for node and tsx to run, nothing that configures the proxy. */
export function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** `script` runs under tsx; a `.mjs` (a bundle) runs as it is. */
async function startChild(name: string, script: string, env: Record<string, string>): Promise<Child> {
  const path = script.startsWith('/') ? script : fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, path.endsWith('.mjs') ? [path] : ['--import', 'tsx', path], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () => fail(new Error(`${name}: not listening after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.once('exit', (code, sig) => fail(new Error(`${name}: exited before listening (${code ?? sig})`)));
    child.on('error', fail);
    lines.on('line', (line) => {
      const m = settled ? null : /^listening (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m !== null) {
        settled = true;
        clearTimeout(timer);
        resolve(m[1]!);
      } else {
        process.stderr.write(`[${name}] ${line}\n`); // the proxy's warn-level logs
      }
    });
  });
  let nextId = 0;
  return {
    name,
    url,
    process: child,
    async stats() {
      return (await ask(child, name, 'stats', ++nextId)).stats!;
    },
    async command(type) {
      await ask(child, name, type, ++nextId);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts the simulated Z.AI upstream in its own process. */
export async function startSimChild(): Promise<SimChild> {
  const c = await startChild('sim', './sim-process.ts', { SIM_API_KEY: BENCH_KEY });
  return { ...c, reset: () => c.command('reset') };
}

/**
 * Starts a proxy in its own process in front of the sim. `env` overrides the bench defaults, so a
 * variant (token counting on, another limiter setting) is one call with one more variable. `tree`
 * is another checkout of this repository (a git worktree of an older commit): its own
 * bench/proxy-process.ts and proxy code run instead, for a before/after comparison in one run.
 */
export async function startProxyChild(
  name: string,
  simUrl: string,
  env: Record<string, string> = {},
  tree?: string,
): Promise<Child> {
  const root = tree === undefined ? fileURLToPath(new URL('..', import.meta.url)) : tree;
  return startChild(name, await bundledProxy(root), proxyEnv(simUrl, { PORT: '0', ...env }));
}

const bundles = new Map<string, Promise<string>>();

/**
 * `<root>/bench/proxy-process.ts` bundled by esbuild as scripts/build.mjs bundles the proxy, into
 * `<root>/.bench-dist/proxy/`: the children run the code as it ships. Under tsx every function
 * created per request also paid esbuild's keepNames wrapper (`__name`, about 2 % of a request),
 * which the build does not add. `@zai-proxy/*` imports resolve inside `root`, not through the
 * node_modules it may share with this checkout (a symlink would take them to this tree's code).
 * Other packages stay imports from `<root>/node_modules`. Built once per tree per run.
 */
function bundledProxy(root: string): Promise<string> {
  let b = bundles.get(root);
  if (b === undefined) {
    b = bundle(root.replace(/\/+$/, ''));
    bundles.set(root, b);
  }
  return b;
}

async function bundle(root: string): Promise<string> {
  const outdir = join(root, '.bench-dist', 'proxy'); // two levels down, as dist/proxy: version.ts finds package.json
  const outfile = join(outdir, 'proxy-process.mjs');
  const workspace: Plugin = {
    name: 'tree',
    setup(b) {
      b.onResolve({ filter: /^@zai-proxy\/[^/]+$/ }, (a) => {
        const dir = join(root, 'packages', a.path.split('/')[1]!);
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          exports?: { '.'?: string };
          main?: string;
        };
        return { path: join(dir, pkg.exports?.['.'] ?? pkg.main ?? 'src/index.ts') };
      });
      b.onResolve({ filter: /^[^./]/ }, (a) =>
        a.path.startsWith('@zai-proxy/') ? undefined : { path: a.path, external: true },
      );
    },
  };
  await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'bench', 'proxy-process.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    logLevel: 'warning',
    plugins: [workspace],
  });
  // Files the proxy loads by URL beside its module (the token-counting worker), as the build copies them.
  for (const f of ['token-worker.mjs', 'cl100k-count.mjs']) {
    const src = join(root, 'packages', 'proxy', 'src', 'usage', f);
    if (existsSync(src)) copyFileSync(src, join(dirname(outfile), f));
  }
  return outfile;
}

/** A bench proxy's environment: in front of the sim, at warn, features off, then `env` on top. */
export function proxyEnv(simUrl: string, env: Record<string, string>): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ZAI_API_KEY: BENCH_KEY,
    ZAI_TARGET_URL: `${simUrl}/api/anthropic`,
    ZAI_OPENAI_TARGET_URL: `${simUrl}/api/paas/v4`,
    TOKEN_COUNTING_ENABLED: 'false',
    // Admission off unless a target turns it on: at its defaults the rate limiter starts at 10 req/s
    // and the concurrency limit at 2, which would measure the limits, not the proxy.
    CONCURRENCY_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
    ...env,
  };
}
