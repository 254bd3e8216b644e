// PROMETHEUS_URL against a real Prometheus (Debian package `prometheus`, started here on a free port
// with a temporary config and storage) scraping two real proxies every second. The same traffic is
// read by a dashboard scraping the proxies directly; counts must agree with each other and with
// what the test sent, exactly: the Prometheus source reads raw samples (no rate() extrapolation),
// so its only difference is a lag of up to one Prometheus scrape interval, waited out below.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { pino } from 'pino';
import { createDashboard } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { call, type Json } from './harness.ts';
import { type Child, freePort, startProxyProcess } from './processes.ts';

const KEY = 'zai-prometheus-KEY-99';
const dir = mkdtempSync(join(tmpdir(), 'dash-prom-'));
let sim: SimUpstream;
let prod: Child;
let canary: Child;
let prom: ChildProcess;
let promUrl: string;

async function promQuery(q: string): Promise<Json[]> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  return ((await r.json()) as Json).data.result;
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (spawnSync('prometheus', ['--version']).error !== undefined)
    throw new Error(
      'the prometheus binary is missing: apt-get update && apt-get install -y --no-install-recommends prometheus',
    );
  sim = await startSimUpstream({ apiKey: KEY });
  [prod, canary] = await Promise.all([
    startProxyProcess(sim.url, 'production', KEY),
    startProxyProcess(sim.url, 'canary', KEY),
  ]);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: zai-proxy',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${prod.port}', '127.0.0.1:${canary.port}']`,
      '',
    ].join('\n'),
  );
  prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  await until('prometheus ready', async () => {
    try {
      return (await fetch(`${promUrl}/-/ready`)).status === 200;
    } catch {
      return false;
    }
  });
  await until('both proxies scraped', async () => (await promQuery('up == 1')).length === 2);
});

after(async () => {
  if (prom !== undefined && prom.exitCode === null) {
    const exited = once(prom, 'exit');
    prom.kill('SIGTERM');
    await exited;
  }
  await Promise.all([prod?.stop(), canary?.stop()]);
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(proxy: Child, i: number, scenario?: string) {
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': 'c',
      ...(scenario ? { 'x-sim-scenario': scenario } : {}),
    },
    body: JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 16,
      stream: i % 2 === 0,
      messages: [{ role: 'user', content: `hi ${i}` }],
    }),
  });
  await r.arrayBuffer();
}

describe('PROMETHEUS_URL source', () => {
  test('the same counts as scraping directly, and as sent', async () => {
    const start = (env: Record<string, string>) => {
      const cfg = loadConfig({
        DB_PATH: ':memory:',
        LOG_LEVEL: 'silent',
        WEB_DIST: join(dir, 'no-web'),
        ...env,
      });
      return createDashboard(cfg, { log: pino({ level: 'silent' }), manualCollection: true });
    };
    const viaProm = start({ PROMETHEUS_URL: promUrl });
    const direct = start({ SCRAPE_TARGETS: `production=${prod.url}/metrics,canary=${canary.url}/metrics` });
    const [pa, da] = await Promise.all([viaProm.listen(0, '127.0.0.1'), direct.listen(0, '127.0.0.1')]);
    const pBase = `http://127.0.0.1:${pa.port}`;
    const dBase = `http://127.0.0.1:${da.port}`;
    try {
      await Promise.all([viaProm.collectOnce(), direct.collectOnce()]);
      for (let i = 0; i < 40; i++) {
        await send(prod, i);
        await send(canary, i, i % 10 === 0 ? 'status;code=500' : undefined);
      }
      // Wait until Prometheus has scraped past the traffic (its lag is one scrape interval).
      await until('prometheus caught up', async () => {
        const r = await promQuery('sum(zai_proxy_requests_total)');
        return r.length === 1 && Number(r[0].value[1]) === 80;
      });
      await new Promise((r) => setTimeout(r, 10));
      await Promise.all([viaProm.collectOnce(), direct.collectOnce()]);

      const totals = async (base: string, variant: string) => {
        const rows = (await call(base, `/api/metrics?range=5m&variant=${variant}`)).json as Json[];
        const sum = (f: string) => rows.reduce((s, r) => s + r.delta[f], 0);
        const ttfb = rows.reduce((s, r) => s + (r.ttfb_p95 === null ? 0 : 1), 0);
        return {
          requests: sum('requests'),
          errors: sum('errors'),
          requests_5xx: sum('requests_5xx'),
          tokens_input: sum('tokens_input'),
          tokens_output: sum('tokens_output'),
          cost_micro_usd_output: sum('cost_micro_usd_output'),
          pointsWithTtfb: ttfb > 0,
        };
      };
      const input = sim.journal.reduce((s, e) => s + (e.reportedUsage?.input ?? 0), 0);
      for (const variant of ['production', 'canary']) {
        const p = await totals(pBase, variant);
        const d = await totals(dBase, variant);
        assert.deepEqual(p, d, `${variant}: Prometheus source = direct scrape`);
        assert.equal(p.requests, 40, variant);
        assert.equal(p.errors, variant === 'canary' ? 4 : 0);
        assert.ok(p.pointsWithTtfb);
      }
      const sumInput =
        (await totals(pBase, 'production')).tokens_input + (await totals(pBase, 'canary')).tokens_input;
      assert.equal(sumInput, input, 'tokens match the upstream journal');
      const st = (await call(pBase, '/api/status')).json;
      assert.equal(st.source, 'prometheus');
      assert.deepEqual(
        st.targets.map((t: Json) => [t.name, t.up]),
        [['prometheus', true]],
      );
      assert.equal(st.variants.production.targets_up, 1, 'one instance carries production');
    } finally {
      await Promise.all([viaProm.close(1000), direct.close(1000)]);
    }
  });
});
