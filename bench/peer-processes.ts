// The suite's other targets, each in its own process on 127.0.0.1: nginx (the C reference of one
// proxy hop), Portkey's Node gateway, and zai-proxy started the way production starts it. None of
// them speaks the bench's IPC, so their CPU time and memory are read from /proc.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildStats } from './child-control.ts';
import { baseEnv, type Child, proxyEnv } from './child-processes.ts';
import type { Api } from './request-fixtures.ts';

const READY_TIMEOUT_MS = 30_000;
// zai-proxy rebuilds dist/ (the web UI included) before it starts when the sources are newer.
const BUILD_AND_READY_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 3_000;
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const NGINX_INSTALL = 'apt-get install -y --no-install-recommends nginx-light';
export const PORTKEY_DIR = fileURLToPath(new URL('./portkey', import.meta.url));
export const PORTKEY_INSTALL = 'npm ci --prefix bench/portkey';
const PORTKEY_SERVER = join(PORTKEY_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js');
/** One nginx worker, as zai-proxy is one process: the comparison is per process. */
export const NGINX_WORKERS = 1;

/** A port that was free a moment ago, for a server that cannot be told to take port 0. */
export async function freePort(): Promise<number> {
  // A bare node:net listener, opened and closed at once: a port probe, not a server that serves.
  const s = new Server();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** The pid and its children (nginx's workers), read from /proc. */
function pidsOf(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(kids === '' ? [] : kids.split(' ').map(Number))];
  } catch {
    return [pid];
  }
}

/** CPU time and memory of a process and its children, summed, from /proc. */
export function procStats(pid: number): ChildStats {
  let cpuUs = 0;
  let rssKb = 0;
  let hwmKb = 0;
  for (const p of pidsOf(pid)) {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
    cpuUs += ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6; // utime + stime
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    hwmKb += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return { cpuUs, rssBytes: rssKb * 1024, maxRssKb: hwmKb };
}

async function waitHttp(
  name: string,
  url: string,
  child: ChildProcess,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name}: exited with ${child.exitCode} before serving`);
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${name}: not serving ${url} after ${timeoutMs} ms`);
}

function asChild(name: string, url: string, child: ChildProcess, cleanup = () => {}): Child {
  return {
    name,
    url,
    process: child,
    async stats() {
      return procStats(child.pid!);
    },
    async command(type) {
      throw new Error(`${name}: no ${type} command`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}

/** Where nginx is, or null (the suite then prints NGINX_INSTALL and skips it). */
export function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * nginx.conf for one hop in front of the sim: no response buffering (streams pass event by event),
 * keep-alive connections to the upstream, request bodies up to 1 MiB kept in memory, no access log,
 * and every path inside `dir` so it runs without root.
 */
export function nginxConfig(dir: string, port: number, upstream: string, asRoot: boolean): string {
  const u = new URL(upstream);
  return `${asRoot ? 'user root;\n' : ''}daemon off;
worker_processes ${NGINX_WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 32m;
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream sim { server ${u.host}; keepalive 2048; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`;
}

/** nginx in front of `simUrl`, its config generated into a temp dir. */
export async function startNginx(bin: string, simUrl: string): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'zai-bench-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, simUrl, process.getuid?.() === 0));
  const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp('nginx', `${url}/health`, child);
  return asChild('nginx', url, child, () => rmSync(dir, { recursive: true, force: true }));
}

/** Whether Portkey's gateway is installed in bench/portkey (PORTKEY_INSTALL installs it). */
export const portkeyInstalled = (): boolean => existsSync(PORTKEY_SERVER);

/** Portkey's gateway. It listens on every interface (it has no host option); we reach it on 127.0.0.1. */
export async function startPortkey(): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, [PORTKEY_SERVER, `--port=${port}`, '--headless'], {
    cwd: PORTKEY_DIR,
    env: { ...baseEnv(), NODE_ENV: 'production' },
    stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'], // its banner and spinner
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp('portkey', `${url}/`, child);
  return asChild('portkey', url, child);
}

/** Portkey is told its upstream per request: the provider and the sim's base URL. */
export function portkeyHeaders(simUrl: string): Record<Api, Record<string, string>> {
  return {
    anthropic: { 'x-portkey-provider': 'anthropic', 'x-portkey-custom-host': `${simUrl}/api/anthropic/v1` },
    openai: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${simUrl}/api/paas/v4` },
  };
}

/** How the zai-proxy children start: the compiled build as operators run it, or tsx from source. */
export const PROXY_START = existsSync(join(ROOT, 'dist/proxy/main.js'))
  ? 'dist (node bin/zai-proxy.mjs proxy; rebuilt first if the sources are newer)'
  : 'a bundle of bench/proxy-process.ts (no dist/proxy/main.js: `npm run build` measures `zai-proxy proxy` itself)';

/**
 * zai-proxy with `env` on top of the bench defaults, started as production starts it
 * (`zai-proxy proxy`, which runs dist/proxy/main.js) with its stdout (log lines, access log included)
 * to /dev/null. exit-with-parent.mjs, preloaded, stops it when the bench goes away.
 */
export async function startProductionProxy(
  name: string,
  simUrl: string,
  env: Record<string, string>,
): Promise<Child> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      fileURLToPath(new URL('./exit-with-parent.mjs', import.meta.url)),
      join(ROOT, 'bin/zai-proxy.mjs'),
      'proxy',
    ],
    {
      env: { ...baseEnv(), ...proxyEnv(simUrl, { PORT: String(port), SHUTDOWN_DELAY: '0', ...env }) },
      stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit', 'ipc'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(name, `${url}/healthz`, child, BUILD_AND_READY_TIMEOUT_MS);
  return asChild(name, url, child);
}
