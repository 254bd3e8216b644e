// The real thing for browser tests: two simulated Z.AI upstreams, a production and a canary proxy in front
// of them, and the dashboard scraping both, each proxy and the dashboard as its own process, all on
// 127.0.0.1 ports chosen by the OS.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import {
  type Child,
  DASHBOARD_MAIN,
  freePort,
  spawnNode,
  startProxyProcess,
} from '../../dashboard/test/processes.ts';

export type Proc = Child;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const WEB_DIST = join(ROOT, 'packages', 'web', 'dist');
const KEY = 'zai-e2e-key-0123456789abcdef';

export interface Stack {
  dashboard: Proc;
  proxies: Record<'production' | 'canary', Proc>;
  sims: Record<'production' | 'canary', SimUpstream>;
  /** Sends `n` Messages requests through one variant's proxy; a scenario shapes the upstream's answer. */
  traffic(variant: 'production' | 'canary', n: number, scenario?: string): Promise<number[]>;
  /** Another dashboard process over the same proxies (e.g. with DASHBOARD_TOKEN). */
  startDashboard(env?: Record<string, string>): Promise<Proc>;
  close(): Promise<void>;
}

/** Builds the web UI (about a second), so the browser tests never run against a stale dist/. */
export function ensureWebBuild(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
    cwd: join(ROOT, 'packages', 'web'),
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(join(WEB_DIST, 'index.html')))
    throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface StackOptions {
  /** The dashboard's SCRAPE_INTERVAL; short so tests see several points quickly. */
  scrapeInterval?: string;
  dashboardEnv?: Record<string, string>;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  ensureWebBuild();
  const started: Child[] = [];
  const sims = {
    production: await startSimUpstream({ apiKey: KEY }),
    canary: await startSimUpstream({ apiKey: KEY }),
  };
  try {
    const proxy = async (variant: 'production' | 'canary') => {
      const p = await startProxyProcess(sims[variant].url, variant, KEY, { MAX_RETRIES: '0' });
      started.push(p);
      return p;
    };
    const proxies = { production: await proxy('production'), canary: await proxy('canary') };
    const startDashboard = async (env: Record<string, string> = {}) => {
      const port = await freePort();
      const d = await spawnNode(
        DASHBOARD_MAIN,
        {
          LISTEN_ADDR: `127.0.0.1:${port}`,
          SCRAPE_TARGETS: `production=${proxies.production.url}/metrics,canary=${proxies.canary.url}/metrics`,
          SCRAPE_INTERVAL: o.scrapeInterval ?? '1s',
          DB_PATH: ':memory:',
          WEB_DIST,
          CANARY_MIN_SAMPLE: '20',
          LOG_LEVEL: 'warn',
          ...o.dashboardEnv,
          ...env,
        },
        port,
        '/healthz',
      );
      started.push(d);
      return d;
    };
    const dashboard = await startDashboard();
    return {
      dashboard,
      proxies,
      sims,
      startDashboard,
      async traffic(variant, n, scenario) {
        const statuses: number[] = [];
        for (let i = 0; i < n; i++) {
          const res = await fetch(`${proxies[variant].url}/v1/messages`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'anthropic-version': '2023-06-01',
              ...(scenario ? { 'x-sim-scenario': scenario } : {}),
            },
            body: JSON.stringify({
              model: 'glm-4.6',
              max_tokens: 64,
              messages: [{ role: 'user', content: `hello ${i}` }],
            }),
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          statuses.push(res.status);
        }
        return statuses;
      },
      async close() {
        await Promise.all(started.map((p) => p.stop()));
        await Promise.all([sims.production.close(), sims.canary.close()]);
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    await Promise.all([sims.production.close(), sims.canary.close()]);
    throw err;
  }
}
