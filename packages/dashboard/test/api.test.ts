// The HTTP API over real sockets, with recorded proxy text as the source and a fake clock.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createStore } from '../src/store/store.ts';
import { call, type Harness, type Json, openEvents, startHarness } from './harness.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

import { readFileSync } from 'node:fs';

const PROD_A = readFileSync(fixture('proxy-production-a.prom'), 'utf8');
const PROD_B = readFileSync(fixture('proxy-production-b.prom'), 'utf8');
const CANARY_A = readFileSync(fixture('proxy-canary-a.prom'), 'utf8');
const CANARY_B = readFileSync(fixture('proxy-canary-b.prom'), 'utf8');
const PROD = 'http://production/metrics';
const CANARY = 'http://canary/metrics';

const tmp = mkdtempSync(join(tmpdir(), 'dash-api-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function twoVariants(env: Record<string, string> = {}) {
  const h = await startHarness({ [PROD]: PROD_A, [CANARY]: CANARY_A }, env);
  await h.tick();
  h.set(PROD, PROD_B);
  h.set(CANARY, CANARY_B);
  await h.tick();
  return h;
}

describe('REST API', () => {
  let h: Harness;
  after(() => h?.close());

  test('/api/metrics: snapshots of both variants, filtered by variant, oldest first', async () => {
    h = await twoVariants();
    const all = await call(h.base, '/api/metrics?range=5m');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.json.map((s: Json) => [s.timestamp - h.now(), s.variant, s.delta.requests]),
      [
        [-5000, 'canary', 0],
        [-5000, 'production', 0],
        [0, 'canary', 7],
        [0, 'production', 7],
      ],
    );
    const prod = await call(h.base, '/api/metrics?range=1h&variant=production');
    assert.ok(prod.json.every((s: Json) => s.variant === 'production'));
    const s = prod.json.at(-1);
    for (const key of [
      'requests_2xx',
      'tokens_input',
      'estimated_cost_usd_output',
      'latency_p95',
      'ttfb_p95',
      'worker_utilization',
      'status_code_rates',
      'delta',
    ])
      assert.ok(key in s, key);
    assert.equal(s.req_rate, 7 / 5);
    assert.deepEqual(await call(h.base, '/api/metrics?variant=nobody').then((r) => r.json), []);
  });

  test('/api/metrics: 7d works and returns at most 1440 points per variant', async () => {
    const r = await call(h.base, '/api/metrics?range=7d');
    assert.equal(r.status, 200);
    assert.ok(r.json.length >= 2 && r.json.length <= 2 * 1440);
  });

  test('bad input is a 400 naming the parameter, in the JSON envelope', async () => {
    for (const [q, param] of [
      ['range=-5m', 'range'],
      ['range=8d', 'range'],
      ['range=banana', 'range'],
      ['variant=a%20b', 'variant'],
      ['variant=x&variant=y', 'variant'],
      ['rnage=1h', 'rnage'],
      ['range=2h&step=90s', 'step'],
      ['range=2d&step=raw', 'step'],
    ]) {
      const r = await call(h.base, `/api/metrics?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'BAD_REQUEST');
      assert.equal(r.json.error.param, param, q);
    }
    assert.equal((await call(h.base, '/api/nope')).json.error.code, 'NOT_FOUND');
    const post = await call(h.base, '/api/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await call(h.base, '/api/canary?window=30s')).json.error.param, 'window');
    assert.equal((await call(h.base, '/api/usage?tz=Mars/Olympus')).json.error.param, 'tz');
  });

  test('/api/status: latest per variant and per-target health; /api/config', async () => {
    const st = (await call(h.base, '/api/status')).json;
    assert.deepEqual(Object.keys(st.variants), ['canary', 'production']);
    assert.equal(st.variants.production.healthy, true);
    assert.equal(st.variants.production.targets_up, 1);
    assert.deepEqual(
      st.targets.map((t: Json) => [t.name, t.up, t.variants]),
      [
        ['production', true, ['production']],
        ['canary', true, ['canary']],
      ],
    );
    assert.equal(st.storage.ok, true);
    const cfg = (await call(h.base, '/api/config')).json;
    assert.equal(cfg.scrape_interval, 5);
    assert.deepEqual(cfg.variants, ['canary', 'production']);
    assert.deepEqual(cfg.targets[0], { name: 'production', url: 'http://production/metrics' });
    assert.equal(cfg.auth_required, false);
  });

  test('a target going down shows in /api/status; the variant turns unhealthy', async () => {
    h.set(CANARY, new Error('ECONNREFUSED'));
    await h.tick();
    const st = (await call(h.base, '/api/status')).json;
    const canary = st.targets.find((t: Json) => t.name === 'canary');
    assert.equal(canary.up, false);
    assert.equal(canary.last_error, 'ECONNREFUSED');
    assert.equal(st.variants.canary.healthy, false);
    assert.equal((await call(h.base, '/readyz')).status, 200, 'one target is still up');
    h.set(CANARY, CANARY_B);
  });

  test('/api/export honours range, variant and format', async () => {
    const csv = await call(h.base, '/api/export?format=csv&range=5m&variant=canary');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(
      String(csv.headers['content-disposition']),
      /^attachment; filename="zai-dashboard-metrics-5m-\d{8}T\d{6}\.csv"$/,
    );
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0]!.split(',')[0], 'timestamp');
    assert.ok(lines.slice(1).every((l) => l.split(',')[2] === 'canary'));
    assert.equal(lines.length, 1 + 2);
    const json = await call(h.base, '/api/export?range=5m&variant=production');
    const metrics = await call(h.base, '/api/metrics?range=5m&variant=production');
    assert.deepEqual(json.json, metrics.json);
    const usage = await call(
      h.base,
      '/api/export?kind=usage&format=json&range=1h&variant=production&model=glm-4.5-air',
    );
    assert.ok(usage.json.length > 0);
    assert.ok(usage.json.every((u: Json) => u.model === 'glm-4.5-air' && u.variant === 'production'));
    assert.equal((await call(h.base, '/api/export?model=x')).json.error.param, 'model');
  });

  test('/api/usage: totals by variant and model; days in the report time zone add up', async () => {
    const u = (await call(h.base, '/api/usage?range=24h&tz=Asia/Kolkata')).json;
    assert.equal(u.timezone, 'Asia/Kolkata');
    assert.ok(u.totals.tokens_input > 0);
    assert.equal(
      u.days.reduce((s: number, d: Json) => s + d.cost_micro_usd_total, 0),
      u.totals.cost_micro_usd_total,
    );
    assert.deepEqual(u.by_variant.map((v: Json) => v.key).sort(), ['canary', 'production']);
  });

  test('/healthz and /metrics', async () => {
    assert.deepEqual((await call(h.base, '/healthz')).json, { status: 'ok' });
    const m = await call(h.base, '/metrics');
    assert.match(m.text, /zai_dashboard_scrapes_total\{target="canary",result="error"\} 1/);
    assert.match(m.text, /zai_dashboard_storage_ok 1/);
  });

  test('static UI: a page saying how to build it when there is no build', async () => {
    const r = await call(h.base, '/');
    assert.equal(r.status, 200);
    assert.match(r.text, /npm run build -w @zai-proxy\/web/);
  });
});

describe('SSE /api/events', () => {
  test('connected, latest per variant on connect, ids, retry; Last-Event-ID resumes exactly', async () => {
    const h = await twoVariants();
    const es = openEvents(h.base);
    await es.waitFor(
      (f) => f.filter((x) => x.event === 'metrics').length === 2 && f.some((x) => x.event === 'status'),
    );
    assert.equal(es.frames[0]!.retry, 3000);
    assert.equal(es.frames[1]!.event, 'connected');
    assert.deepEqual(es.frames[1]!.data, {
      type: 'connected',
      scrape_interval: 5,
      variants: ['canary', 'production'],
      resumed: false,
    });
    const latest = es.frames.filter((f) => f.event === 'metrics');
    assert.deepEqual(latest.map((f) => f.data.data.variant).sort(), ['canary', 'production']);
    assert.ok(latest.every((f) => f.data.type === 'metrics' && /^\d+-\d+$/.test(f.id!)));
    const lastSeen = es.frames.at(-1)!.id!;
    es.close();
    await h.tick(); // missed by the closed stream
    await h.tick();
    const again = openEvents(h.base, { 'last-event-id': lastSeen });
    await again.waitFor((f) => f.filter((x) => x.id !== undefined).length === 6);
    assert.equal(again.frames[1]!.data.resumed, true);
    const ids = again.frames.filter((f) => f.id !== undefined).map((f) => f.id);
    assert.deepEqual(ids, [
      `${h.now() - 5000}-0`,
      `${h.now() - 5000}-1`,
      `${h.now() - 5000}-2`,
      `${h.now()}-0`,
      `${h.now()}-1`,
      `${h.now()}-2`,
    ]);
    again.close();
    const unknown = openEvents(h.base, { 'last-event-id': '123-0' });
    await unknown.waitFor((f) => f.length >= 2);
    assert.equal(unknown.frames[1]!.data.resumed, false);
    unknown.close();
    await h.close();
  });

  test('shutdown ends open streams instead of waiting on them', async () => {
    const h = await twoVariants();
    const es = openEvents(h.base);
    await es.waitFor((f) => f.some((x) => x.event === 'status'));
    await h.close();
    await es.waitFor(() => es.ended());
    assert.ok(es.ended());
  });
});

describe('DASHBOARD_TOKEN', () => {
  test('API and events need the token or the cookie it is exchanged for; health probes do not', async () => {
    const token = 'correct horse battery staple';
    const h = await twoVariants({ DASHBOARD_TOKEN: token });
    assert.equal((await call(h.base, '/api/status')).status, 401);
    assert.equal((await call(h.base, '/api/status')).json.error.code, 'UNAUTHORIZED');
    assert.equal((await call(h.base, '/api/events')).status, 401);
    assert.equal((await call(h.base, '/healthz')).status, 200);
    assert.equal((await call(h.base, '/readyz')).status, 200);
    assert.deepEqual((await call(h.base, '/api/session')).json, {
      auth_required: true,
      authenticated: false,
    });
    assert.equal(
      (await call(h.base, '/api/status', { headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );
    assert.equal(
      (await call(h.base, '/api/status', { headers: { authorization: 'Bearer wrong' } })).status,
      401,
    );
    const bad = await call(h.base, '/api/session', {
      method: 'POST',
      body: JSON.stringify({ token: 'nope' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    assert.equal((await call(h.base, '/api/session', { method: 'POST', body: 'not json' })).status, 400);
    const ok = await call(h.base, '/api/session', {
      method: 'POST',
      body: JSON.stringify({ token }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(ok.status, 204);
    const setCookie = String(ok.headers['set-cookie']);
    assert.match(
      setCookie,
      /^zai_dashboard_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/,
    );
    assert.ok(!setCookie.includes(token), 'the cookie is not the token');
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await call(h.base, '/api/metrics?range=5m', { headers: { cookie } })).status, 200);
    const es = openEvents(h.base, { cookie });
    await es.waitFor((f) => f.some((x) => x.event === 'status'));
    assert.equal(es.status(), 200);
    es.close();
    const https = await call(h.base, '/api/session', {
      method: 'POST',
      body: JSON.stringify({ token }),
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.match(String(https.headers['set-cookie']), /; Secure$/);
    await h.close();
  });
});

describe('storage failure', () => {
  test('the service stays up: live data, status and the metric say so, and it recovers', async () => {
    let broken = true;
    const path = join(tmp, 'flaky.db');
    const store = createStore({
      path,
      retention5sMs: 86_400_000,
      retention1mMs: 604_800_000,
      open: (p) => {
        if (broken) throw new Error('unable to open database file: out of memory (14)');
        return new Database(p);
      },
    });
    const h = await startHarness({ [PROD]: PROD_A }, {}, { store });
    await h.tick();
    h.set(PROD, PROD_B);
    await h.tick();
    const st = (await call(h.base, '/api/status')).json;
    assert.equal(st.storage.ok, false);
    assert.match(st.storage.last_error, /out of memory \(14\)/);
    assert.equal(st.variants.production.healthy, true);
    const live = await call(h.base, '/api/metrics?range=5m');
    assert.equal(live.status, 200);
    assert.equal(live.json.at(-1).delta.requests, 7);
    const week = await call(h.base, '/api/metrics?range=7d');
    assert.equal(week.status, 503);
    assert.equal(week.json.error.code, 'STORAGE_UNAVAILABLE');
    assert.match((await call(h.base, '/metrics')).text, /zai_dashboard_storage_ok 0/);
    assert.equal((await call(h.base, '/healthz')).status, 200);
    broken = false;
    await h.tick(15_000);
    assert.equal((await call(h.base, '/api/status')).json.storage.ok, true);
    assert.equal((await call(h.base, '/api/metrics?range=7d')).status, 200);
    await h.close();
  });
});

describe('static UI build', () => {
  test('files with content types, SPA fallback to index.html, 404 for a missing asset', async () => {
    const dist = join(tmp, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
    const h = await startHarness({ [PROD]: PROD_A }, { WEB_DIST: dist });
    const root = await call(h.base, '/');
    assert.equal(root.status, 200);
    assert.equal(root.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(root.text, /<!doctype html>/);
    const js = await call(h.base, '/assets/app-abc123.js');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(String(js.headers['cache-control']), /immutable/);
    assert.equal((await call(h.base, '/favicon.svg')).headers['content-type'], 'image/svg+xml');
    const spa = await call(h.base, '/canary/compare');
    assert.equal(spa.status, 200);
    assert.match(spa.text, /<title>ui<\/title>/);
    assert.equal((await call(h.base, '/assets/missing.js')).status, 404);
    assert.equal((await call(h.base, '/../../etc/passwd')).text.includes('root:'), false);
    assert.equal((await call(h.base, '/', { method: 'POST' })).status, 405);
    await h.close();
  });
});
