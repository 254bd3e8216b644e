// The dashboard's three costs: /api/metrics?range=7d over a full 7 days of history for 4 variants,
// SSE fan-out of one tick to 100 clients, and collector CPU per target per scrape.
// Run: node --import tsx bench/dashboard.bench.ts   (figures go to bench/RESULTS.md by hand)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText } from '@zai-proxy/prom-text';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { createDashboard } from '../packages/dashboard/src/app.ts';
import { applyScrape, newSeriesState } from '../packages/dashboard/src/collector/deltas.ts';
import { loadConfig } from '../packages/dashboard/src/config.ts';
import { emptyPoint, type Point } from '../packages/dashboard/src/points/point.ts';
import { encodePoint } from '../packages/dashboard/src/store/codec.ts';
import { createStore } from '../packages/dashboard/src/store/store.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const VARIANTS = ['production', 'canary', 'canary-b', 'canary-c'];
const DURATION = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  Number.POSITIVE_INFINITY,
];
const OVERHEAD = [
  1e-5,
  2.5e-5,
  5e-5,
  1e-4,
  2.5e-4,
  5e-4,
  1e-3,
  2.5e-3,
  5e-3,
  0.01,
  0.025,
  0.05,
  0.1,
  Number.POSITIVE_INFINITY,
];
const SIZES = [100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, Number.POSITIVE_INFINITY];

const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const cumulative = (n: number, len: number) =>
  Array.from({ length: len }, (_, i) => Math.round((n * (i + 1)) / len));

/** A realistic point: every histogram the proxy exports, status codes, Z.AI classes. */
function point(ts: number, variant: string, intervalMs: number, i: number): Point {
  const p = emptyPoint(ts, variant, intervalMs);
  const n = 20 + (i % 13);
  Object.assign(p.delta, {
    requests: n,
    requests_2xx: n - 2,
    requests_4xx: 1,
    requests_5xx: 1,
    errors: 1,
    upstream_errors: 2,
    retries: 1,
  });
  p.delta.status = { '200': n - 2, '429': 1, '500': 1 };
  p.delta.zai_errors = { concurrency: 1 };
  p.delta.tokens_input = n * 900;
  p.delta.tokens_output = n * 200;
  p.delta.cost_micro_usd_input = n * 540;
  p.delta.cost_micro_usd_output = n * 440;
  p.targetsUp = p.targetsTotal = 2;
  p.cum = { requests_2xx: i * n, tokens_input: i * n * 900 };
  p.gauges = { concurrent: { sum: 3, n: 1 } };
  p.hist = {
    duration: { le: DURATION, count: cumulative(n, DURATION.length), sum: n * 2 },
    ttfb: { le: DURATION, count: cumulative(n, DURATION.length), sum: n * 0.4 },
    overhead: { le: OVERHEAD, count: cumulative(n, OVERHEAD.length), sum: n * 0.0003 },
    request_size: { le: SIZES, count: cumulative(n, SIZES.length), sum: n * 4000 },
    response_size: { le: SIZES, count: cumulative(n, SIZES.length), sum: n * 2000 },
  };
  return p;
}

async function get(url: string): Promise<{ ms: number; bytes: number }> {
  const t = process.hrtime.bigint();
  return new Promise((ok, fail) => {
    request(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () => ok({ ms: Number(process.hrtime.bigint() - t) / 1e6, bytes }));
    })
      .on('error', fail)
      .end();
  });
}

async function metricsRange() {
  const dir = mkdtempSync(join(tmpdir(), 'dash-bench-'));
  const path = join(dir, 'bench.db');
  const end = Date.UTC(2026, 11, 1, 12, 0, 0);
  const store = createStore({ path, retention5sMs: DAY, retention1mMs: 7 * DAY });
  store.open(end);
  store.close();
  const db = new Database(path);
  const ins1 = db.prepare('INSERT INTO points_1m (ts, variant, data) VALUES (?, ?, ?)');
  const ins5 = db.prepare('INSERT INTO points_5s (ts, variant, data) VALUES (?, ?, ?)');
  let t = process.hrtime.bigint();
  db.transaction(() => {
    for (let m = end - 7 * DAY; m < end; m += MIN)
      for (const v of VARIANTS) ins1.run(m, v, encodePoint(point(m, v, MIN, m / MIN)));
    for (let s = end - DAY; s <= end; s += 5000)
      for (const v of VARIANTS) ins5.run(s, v, encodePoint(point(s, v, 5000, s / 5000)));
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_until', ?)").run(
      String(end - (end % MIN)),
    );
  })();
  const rows1 = 7 * 1440 * VARIANTS.length;
  const rows5 = (DAY / 5000 + 1) * VARIANTS.length;
  console.log(
    `history: ${rows1} one-minute rows + ${rows5} raw rows written in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s`,
  );
  db.close();
  const cfg = loadConfig({ DB_PATH: path, LOG_LEVEL: 'silent', WEB_DIST: join(dir, 'none') });
  const dash = createDashboard(cfg, {
    log: pino({ level: 'silent' }),
    manualCollection: true,
    clock: () => end,
  });
  const { port } = await dash.listen(0, '127.0.0.1');
  for (const range of ['1h', '24h', '7d']) {
    const url = `http://127.0.0.1:${port}/api/metrics?range=${range}`;
    for (let i = 0; i < 3; i++) await get(url); // warm-up
    const runs: number[] = [];
    let bytes = 0;
    t = process.hrtime.bigint();
    for (let i = 0; i < 15; i++) {
      const r = await get(url);
      runs.push(r.ms);
      bytes = r.bytes;
    }
    console.log(
      `GET /api/metrics?range=${range.padEnd(3)} (4 variants): median ${pct(runs, 0.5).toFixed(1)} ms, p95 ${pct(runs, 0.95).toFixed(1)} ms, ${(bytes / 1e6).toFixed(2)} MB`,
    );
  }
  const u = [];
  for (let i = 0; i < 10; i++) u.push((await get(`http://127.0.0.1:${port}/api/usage?range=7d`)).ms);
  console.log(`GET /api/usage?range=7d: median ${pct(u, 0.5).toFixed(1)} ms`);
  await dash.close(1000);
  rmSync(dir, { recursive: true, force: true });
}

async function fanOut() {
  const cfg = loadConfig({
    DB_PATH: ':memory:',
    LOG_LEVEL: 'silent',
    WEB_DIST: '/none',
    SCRAPE_TARGETS: 'x=http://127.0.0.1:1/metrics',
  });
  const dash = createDashboard(cfg, { log: pino({ level: 'silent' }), manualCollection: true });
  const { port } = await dash.listen(0, '127.0.0.1');
  const CLIENTS = 100;
  let seen = 0;
  let want = 0;
  let done: () => void = () => {};
  await Promise.all(
    Array.from(
      { length: CLIENTS },
      () =>
        new Promise<void>((ok) => {
          request(`http://127.0.0.1:${port}/api/events`, { agent: false }, (res) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              const n = c.split('event: status\n').length - 1;
              if (n > 0) {
                seen += n;
                if (seen >= want) done();
              }
            });
            ok();
          }).end();
        }),
    ),
  );
  while (dash.hub.clientCount() < CLIENTS) await new Promise((r) => setImmediate(r));
  const frames = VARIANTS.map((v, i) => ({
    event: 'metrics',
    key: `m:${v}`,
    data: { type: 'metrics', data: { variant: v, pad: 'x'.repeat(1800), i } },
  }));
  const status = {
    event: 'status',
    key: 'status',
    data: { type: 'status', data: { pad: 'y'.repeat(3000) } },
  };
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let tick = 0; tick < 60; tick++) {
    want = seen + CLIENTS;
    const t = process.hrtime.bigint();
    const all = new Promise<void>((ok) => {
      done = ok;
    });
    dash.hub.publish(1_000_000 + tick, [...frames, status]);
    await all;
    if (tick >= 10) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  const frameBytes =
    frames.reduce((s, f) => s + JSON.stringify(f.data).length, 0) + JSON.stringify(status.data).length;
  console.log(
    `SSE fan-out, ${CLIENTS} clients, ${frames.length + 1} events (~${(frameBytes / 1024).toFixed(1)} KiB) per tick: publish → all received median ${pct(times, 0.5).toFixed(2)} ms, p95 ${pct(times, 0.95).toFixed(2)} ms; ${((cpu.user + cpu.system) / 1000 / 60).toFixed(2)} ms CPU per tick (server and clients in one process)`,
  );
  await dash.close(1000);
}

function collectorCpu() {
  const fixture = readFileSync(
    new URL('../packages/dashboard/test/fixtures/proxy-production-b.prom', import.meta.url),
    'utf8',
  );
  // A busy proxy: the recorded exposition with 16 models × 4 status codes worth of series.
  const busy = fixture
    .split('\n')
    .flatMap((l) =>
      /^zai_proxy_(requests_total|request_duration_seconds|response_size_bytes|tokens_total|estimated_cost_usd_total)/.test(
        l,
      )
        ? Array.from({ length: 16 }, (_, i) =>
            l.replace('variant="production"', `variant="production",shard="${i}"`),
          )
        : [l],
    )
    .join('\n');
  for (const [name, text] of [
    ['recorded proxy (/metrics after 10 requests)', fixture],
    ['busy proxy (16× the series)', busy],
  ] as const) {
    const state = newSeriesState();
    let now = 0;
    const scrape = () => {
      now += 5000;
      applyScrape(state, parsePrometheusText(text), now, 't');
    };
    for (let i = 0; i < 200; i++) scrape();
    const N = 2000;
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) scrape();
    const c = process.cpuUsage(c0);
    const us = (c.user + c.system) / N;
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    console.log(
      `collector, ${name}: ${(text.length / 1024).toFixed(0)} KiB, ${lines} samples: ${us.toFixed(0)} µs CPU per scrape (parse + deltas) = ${((us / 5e6) * 100).toFixed(3)} % of a core per target at a 5 s interval`,
    );
  }
}

collectorCpu();
await fanOut();
await metricsRange();
