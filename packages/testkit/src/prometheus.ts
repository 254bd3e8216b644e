// A real Prometheus server for tests: the Debian `prometheus` binary as a child process on a free
// 127.0.0.1 port, with a temporary config and TSDB, scraping the given targets. Tests query it over
// its HTTP API and close it in after().
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScrapeJob {
  job: string;
  /** host:port of each target (its /metrics is scraped). */
  targets: string[];
  /** Extra target labels, as a ServiceMonitor's relabelling would add. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Scrape and rule-evaluation interval; default 1s. */
  interval?: string;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
  /** Path of the binary; default `prometheus` on PATH (Debian package `prometheus`). */
  binary?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  /** Instant query at now; throws if Prometheus answers with an error. */
  query(expr: string): Promise<PromSample[]>;
  /** Polls a query until `ok` holds for its result (default: non-empty), or throws after `ms`. */
  waitFor(expr: string, ok?: (r: PromSample[]) => boolean, ms?: number): Promise<PromSample[]>;
  /** Everything the server logged (for failure messages). */
  output(): string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts Prometheus and waits until it is ready. */
export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'zai-prometheus-'));
  const interval = o.interval ?? '1s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: o.ruleFiles ?? [],
    scrape_configs: o.jobs.map((j) => ({
      job_name: j.job,
      static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
    })),
  };
  // JSON is YAML: no YAML writer needed.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
  let child: ChildProcess | null = null;
  let out = '';
  let url = '';
  // A free port can be taken between the probe and Prometheus binding it: try again then.
  for (let attempt = 0; attempt < 3 && child === null; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const c = spawn(
      o.binary ?? 'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    c.stdout!.on('data', (b) => {
      out += b;
    });
    c.stderr!.on('data', (b) => {
      out += b;
    });
    const ready = await waitReady(url, c);
    if (ready) child = c;
    else if (c.exitCode === null) c.kill('SIGKILL');
  }
  if (child === null) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`prometheus did not start:\n${out}`);
  }
  const running = child;

  const query = async (expr: string): Promise<PromSample[]> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data!.result;
  };

  return {
    url,
    query,
    async waitFor(expr, ok = (r) => r.length > 0, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const r = await query(expr);
        if (ok(r)) return r;
        if (Date.now() > end) throw new Error(`no result for ${expr} after ${ms} ms: ${JSON.stringify(r)}`);
        await sleep(200);
      }
    },
    output: () => out,
    async close() {
      if (running.exitCode === null) {
        running.kill('SIGTERM');
        await once(running, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, c: ChildProcess): Promise<boolean> {
  const end = Date.now() + 30_000;
  while (Date.now() < end && c.exitCode === null) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return true;
    } catch {}
    await sleep(100);
  }
  return false;
}
