// Two real proxies (production and canary, separate processes) in front of two simulated Z.AI
// upstreams, real traffic, and the dashboard scraping them. The dashboard's counts are checked
// against what this test sent and what each upstream's journal recorded, not against the proxies'
// /metrics. Time for the dashboard is a fake clock (ticks on demand), so canary windows are exact.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { createDashboard } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { call, type Json } from './harness.ts';
import { type Child, DASHBOARD_MAIN, freePort, spawnNode, startProxyProcess } from './processes.ts';

const KEY = 'zai-integration-KEY-1234';
// 1 µ$ per input token, 3 per output token, no peak surcharge: expected costs are exact integers.
const PRICING = {
  PRICING_JSON: '{"*":{"input":0.001,"output":0.003,"cache_read":0.0005,"cache_write":0}}',
  PRICING_PEAK_MULTIPLIER: '1',
};
const MIN = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'dash-int-'));
let simProd: SimUpstream;
let simCanary: SimUpstream;
let prod: Child;
let canary: Child;

before(async () => {
  simProd = await startSimUpstream({ apiKey: KEY });
  simCanary = await startSimUpstream({ apiKey: KEY });
  [prod, canary] = await Promise.all([
    startProxyProcess(simProd.url, 'production', KEY, PRICING),
    startProxyProcess(simCanary.url, 'canary', KEY, PRICING),
  ]);
});
after(async () => {
  await Promise.all([prod?.stop(), canary?.stop()]);
  await Promise.all([simProd?.close(), simCanary?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

type Kind = 'messages' | 'stream' | 'chat';
const KINDS: Kind[] = ['messages', 'stream', 'chat'];

/** One request through a proxy; `scenario` goes to the sim via x-sim-scenario. */
async function send(proxy: Child, i: number, scenario?: string): Promise<number> {
  const kind = KINDS[i % 3]!;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (scenario !== undefined) headers['x-sim-scenario'] = scenario;
  const words = `hello number ${i} ${'x'.repeat(i % 17)}`;
  const r =
    kind === 'chat'
      ? await fetch(`${proxy.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { ...headers, authorization: 'Bearer client' },
          body: JSON.stringify({ model: 'glm-4.5-air', messages: [{ role: 'user', content: words }] }),
        })
      : await fetch(`${proxy.url}/v1/messages`, {
          method: 'POST',
          headers: { ...headers, 'x-api-key': 'client' },
          body: JSON.stringify({
            model: 'glm-4.6',
            max_tokens: 32,
            stream: kind === 'stream',
            messages: [{ role: 'user', content: words }],
          }),
        });
  await r.arrayBuffer();
  return r.status;
}

/** Sends n requests to each proxy, interleaved (same conditions for both), 8 at a time. */
async function traffic(n: number, canaryScenario: (i: number) => string | undefined = () => undefined) {
  const jobs: (() => Promise<number>)[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(() => send(prod, i));
    jobs.push(() => send(canary, i, canaryScenario(i)));
  }
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) statuses.push(await jobs[next++]!());
    }),
  );
  return statuses;
}

/** Σ of the usage each sim reported: input/output as it put them on the wire. */
function journalUsage(sim: SimUpstream) {
  let input = 0;
  let output = 0;
  for (const e of sim.journal) {
    if (e.reportedUsage === null) continue;
    input += e.reportedUsage.input;
    output += e.reportedUsage.output;
  }
  return { input, output };
}

describe('dashboard against two real proxies', () => {
  let now = Date.UTC(2026, 11, 1, 8, 0, 0);
  const dbPath = join(dir, 'dash.db');
  const cfg = loadConfig({
    SCRAPE_TARGETS: '', // set below, once the proxies have ports
    DB_PATH: dbPath,
    LOG_LEVEL: 'silent',
    WEB_DIST: join(dir, 'no-web'),
  });
  let dash: ReturnType<typeof createDashboard>;
  let base: string;
  const sent = { production: { requests: 0, errors: 0 }, canary: { requests: 0, errors: 0 } };

  async function open() {
    const c = loadConfig({
      SCRAPE_TARGETS: `production=${prod.url}/metrics,canary=${canary.url}/metrics`,
      DB_PATH: dbPath,
      LOG_LEVEL: 'silent',
      WEB_DIST: cfg.WEB_DIST,
    });
    dash = createDashboard(c, { log: pino({ level: 'silent' }), clock: () => now, manualCollection: true });
    const a = await dash.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${a.port}`;
  }
  async function tick(ms = 5000) {
    now += ms;
    await dash.collectOnce(now);
  }
  const totals = async (variant: string) => {
    const rows = (await call(base, `/api/metrics?range=6h&variant=${variant}`)).json as Json[];
    const sum = (f: string) => rows.reduce((s, r) => s + r.delta[f], 0);
    return {
      requests: sum('requests'),
      errors: sum('errors'),
      tokens_input: sum('tokens_input'),
      tokens_output: sum('tokens_output'),
      cost_in: sum('cost_micro_usd_input'),
      cost_out: sum('cost_micro_usd_output'),
    };
  };
  const verdict = async () => (await call(base, '/api/canary?window=10m')).json.results[0];

  before(open);
  after(() => dash?.close(1000));

  test('first scrape: both variants seen, nothing counted yet', async () => {
    await tick();
    const st = (await call(base, '/api/status')).json;
    assert.deepEqual(Object.keys(st.variants), ['canary', 'production']);
    assert.ok(st.targets.every((t: Json) => t.up));
  });

  test('too little traffic: insufficient data, with how many more requests and about when', async () => {
    await traffic(30);
    sent.production.requests += 30;
    sent.canary.requests += 30;
    await tick();
    const v = await verdict();
    assert.equal(v.verdict, 'insufficient_data');
    assert.equal(v.needed.requests, 20);
    // 30 requests in a 10-minute window: 0.05/s, so 20 more take 400 s.
    assert.equal(v.needed.eta_seconds, 400);
  });

  test('counts match what was sent and what the upstreams journaled; money adds up in micro-dollars', async () => {
    for (const [name, sim] of [
      ['production', simProd],
      ['canary', simCanary],
    ] as const) {
      const t = await totals(name);
      const j = journalUsage(sim);
      assert.equal(t.requests, sent[name].requests, `${name} requests`);
      assert.equal(sim.journal.length, sent[name].requests, `${name} journal`);
      assert.equal(t.errors, 0);
      assert.equal(t.tokens_input, j.input, `${name} input tokens`);
      assert.equal(t.tokens_output, j.output, `${name} output tokens`);
      assert.equal(t.cost_in, j.input * 1, `${name} input cost`);
      assert.equal(t.cost_out, j.output * 3, `${name} output cost`);
    }
    const usage = (await call(base, '/api/usage?range=6h')).json;
    const j = journalUsage(simProd);
    const pu = usage.by_variant.find((v: Json) => v.key === 'production');
    assert.equal(pu.tokens_input, j.input);
    assert.deepEqual(usage.by_model.map((m: Json) => m.key).sort(), ['glm-4.5-air', 'glm-4.6']);
    // No client label from the proxy yet: everything is in the unlabelled bucket.
    assert.deepEqual(
      usage.by_client.map((c: Json) => [c.key, c.tokens_total]),
      [['', usage.totals.tokens_total]],
    );
    assert.equal(
      usage.days.reduce((s: number, d: Json) => s + d.cost_micro_usd_total, 0),
      usage.totals.cost_micro_usd_total,
    );
  });

  test('both healthy with enough data: promote', async () => {
    now += 11 * MIN;
    await tick(); // a window with only the new traffic
    await traffic(300);
    sent.production.requests += 300;
    sent.canary.requests += 300;
    await tick();
    const v = await verdict();
    assert.equal(v.verdict, 'promote', JSON.stringify(v, null, 1));
  });

  test('a small regression (3 % upstream 500s on the canary): hold, on the error ratio', async () => {
    now += 11 * MIN;
    await tick();
    const statuses = await traffic(300, (i) => (i % 100 < 3 ? 'status;code=500' : undefined));
    assert.equal(statuses.filter((s) => s === 500).length, 9);
    sent.production.requests += 300;
    sent.canary.requests += 300;
    sent.canary.errors += 9;
    await tick();
    const v = await verdict();
    assert.equal(v.verdict, 'hold', JSON.stringify(v, null, 1));
    assert.equal(v.deciding_metric, 'error_ratio');
    const t = await totals('canary');
    assert.equal(t.errors, sent.canary.errors);
    assert.equal(t.requests, sent.canary.requests);
    const w = (await call(base, '/api/metrics?range=5m&variant=canary')).json.at(-1);
    assert.equal(w.error_rate_pct, (100 * 9) / 300);
  });

  test("the canary's upstream returns 5xx: rollback, forced below the minimum sample after 2 minutes", async () => {
    now += 11 * MIN;
    await tick();
    await traffic(10, () => 'status;code=500');
    await tick(MIN);
    await traffic(10, () => 'status;code=500');
    await tick(MIN);
    sent.production.requests += 20;
    sent.canary.requests += 20;
    sent.canary.errors += 20;
    const v = await verdict();
    assert.equal(v.verdict, 'rollback', JSON.stringify(v, null, 1));
    assert.equal(v.forced, true);
    assert.equal(v.deciding_metric, 'error_ratio');
    // With enough data the statistical test alone says rollback too.
    await traffic(50, () => 'status;code=500');
    sent.production.requests += 50;
    sent.canary.requests += 50;
    sent.canary.errors += 50;
    await tick(MIN);
    await tick(MIN);
    await tick(MIN); // the forced trigger's last two minutes are now empty
    const s = await verdict();
    assert.equal(s.verdict, 'rollback');
    assert.equal(s.forced, false);
    assert.equal(s.deciding_metric, 'error_ratio');
  });

  test('restart: the history is there', async () => {
    const before = (await call(base, '/api/metrics?range=6h')).json;
    const beforeUsage = (await call(base, '/api/usage?range=6h')).json.totals;
    await dash.close(1000);
    await open();
    const afterRestart = (await call(base, '/api/metrics?range=6h')).json;
    assert.equal(afterRestart.length, before.length);
    assert.deepEqual(afterRestart, before);
    assert.deepEqual((await call(base, '/api/usage?range=6h')).json.totals, beforeUsage);
    assert.deepEqual(Object.keys((await call(base, '/api/status')).json.variants), ['canary', 'production']);
    const t = await totals('canary');
    assert.equal(t.requests, sent.canary.requests);
    assert.equal(t.errors, sent.canary.errors);
  });
});

describe('kill -9 while writing', () => {
  test('the database is intact and the history is served after a restart', async () => {
    const db = join(dir, 'killed.db');
    const port = await freePort();
    const d = await spawnNode(
      DASHBOARD_MAIN,
      {
        LISTEN_ADDR: `127.0.0.1:${port}`,
        SCRAPE_TARGETS: `production=${prod.url}/metrics,canary=${canary.url}/metrics`,
        SCRAPE_INTERVAL: '100ms',
        DB_PATH: db,
        LOG_LEVEL: 'warn',
      },
      port,
      '/readyz',
    );
    // Traffic while it scrapes every 100 ms, then SIGKILL in the middle of it.
    const load = traffic(60);
    let seen = 0;
    while (seen < 20) {
      const r = await call(d.url, '/api/metrics?range=5m&variant=production');
      seen = r.json.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    await d.stop('SIGKILL');
    await load;
    const raw = new Database(db, { readonly: false });
    assert.equal((raw.pragma('integrity_check') as { integrity_check: string }[])[0]!.integrity_check, 'ok');
    const rows = (raw.prepare('SELECT count(*) AS n FROM points_5s').get() as { n: number }).n;
    raw.close();
    assert.ok(rows >= 2 * 20 - 2, `${rows} rows survived`);
    const port2 = await freePort();
    const again = await spawnNode(
      DASHBOARD_MAIN,
      {
        LISTEN_ADDR: `127.0.0.1:${port2}`,
        SCRAPE_TARGETS: `production=${prod.url}/metrics`,
        DB_PATH: db,
        LOG_LEVEL: 'warn',
      },
      port2,
      '/readyz',
    );
    const hist = (await call(again.url, '/api/metrics?range=5m&variant=canary')).json;
    assert.ok(hist.length >= 19, `${hist.length} canary points after the restart`);
    await again.stop();
    assert.equal(again.child.exitCode, 0, again.output());
  });
});
