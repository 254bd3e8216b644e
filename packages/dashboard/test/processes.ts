// Real processes for the integration tests: proxies (packages/proxy/src/main.ts) and the dashboard's
// own entry point, on free ports picked here, stopped in after().
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const PROXY_MAIN = `${ROOT}packages/proxy/src/main.ts`;
export const DASHBOARD_MAIN = `${ROOT}packages/dashboard/src/main.ts`;

/** A port nothing listens on right now (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

export interface Child {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node --import tsx <main>` with env and waits until GET `readyPath` answers 200. */
export async function spawnNode(
  main: string,
  env: Record<string, string>,
  port: number,
  readyPath: string,
): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${main} exited ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}${readyPath}`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${main} not ready on ${url}${readyPath}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** A proxy process in front of `simUrl`, as variant `variant`. */
export async function startProxyProcess(
  simUrl: string,
  variant: string,
  key: string,
  env: Record<string, string> = {},
) {
  const port = await freePort();
  return spawnNode(
    PROXY_MAIN,
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      DEPLOYMENT_VARIANT: variant,
      ZAI_API_KEY: key,
      ZAI_TARGET_URL: `${simUrl}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${simUrl}/api/paas/v4`,
      LOG_LEVEL: 'warn',
      // Its own admission state: the default file in /tmp holds limits other proxies learned.
      RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-dashboard-test-proxy-${process.pid}-${port}.json`),
      ...env,
    },
    port,
    '/health',
  );
}
