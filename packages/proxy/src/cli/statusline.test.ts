// The status line's output for healthy, gated, stale and proxy-down states, and the command itself as
// Claude Code runs it (a child process against a real HTTP server on 127.0.0.1).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { accountOf, proxyUrl, renderStatusLine, totalsFromMetrics } from './statusline.mjs';

const NOW = Date.UTC(2026, 8, 5, 14, 0, 0);
const o = { nowMs: NOW, down: false, url: 'http://127.0.0.1:8080', timeZone: 'UTC' };
const at = (h: number, m = 0) => new Date(NOW + (h * 60 + m) * 60_000).toISOString().replace('.000Z', 'Z');

const healthy = {
  status: 'ok',
  quota: {
    enabled: true,
    fresh: true,
    sample_age_seconds: 30,
    windows: [
      {
        window: 'five_hour',
        limit_type: 'TOKENS_LIMIT',
        used_fraction: 0.37,
        reset_at: at(3, 30),
        forecast: {
          projection: 'before_reset',
          exhausts_at: at(2, 10),
          attribution: { state: 'ok', external_share: 0.5 },
        },
      },
      { window: 'weekly', limit_type: 'TOKENS_LIMIT', used_fraction: 0.52, reset_at: at(70, 41) },
    ],
    gate: { enabled: true, open: true, closed: [] },
  },
};
const snap = (health: unknown, totals = { tokens: 1_234_567, cost: 3.4 }) => ({
  health,
  totals,
  fetchedAtMs: NOW - 1000,
});

describe('renderStatusLine', () => {
  test('healthy: both windows with resets, the forecast, tokens and cost', () => {
    assert.equal(
      renderStatusLine(snap(healthy), o),
      'Z.AI 5h 37% ↻17:30 · week 52% ↻Tue 12:41 · 5h out ~16:10 (50% elsewhere) · 1.2M tok $3.40',
    );
  });

  test('pace ok when the window lasts until its reset', () => {
    const h = structuredClone(healthy);
    h.quota.windows[0]!.forecast = {
      projection: 'not_before_reset',
      attribution: { state: 'insufficient_data' },
    } as never;
    assert.match(renderStatusLine(snap(h), o), /· pace ok ·/);
  });

  test('gated: the spent window and when it reopens come first', () => {
    const h = structuredClone(healthy);
    h.quota.windows[1]!.used_fraction = 1;
    h.quota.gate = {
      enabled: true,
      open: false,
      closed: [{ window: 'weekly', source: 'zai', reset_at: at(70, 41) }],
    } as never;
    assert.equal(
      renderStatusLine(snap(h), o),
      'Z.AI ⛔ week spent, reopens Tue 12:41 · 5h 37% ↻17:30 · week 100% ↻Tue 12:41 · 5h out ~16:10 (50% elsewhere) · 1.2M tok $3.40',
    );
  });

  test('gated without a known reset: probing, and the next probe time', () => {
    const h = {
      quota: {
        enabled: false,
        fresh: false,
        gate: { enabled: true, closed: [{ window: 'daily', next_probe_at: at(0, 5) }] },
      },
    };
    assert.equal(
      renderStatusLine(snap(h, { tokens: 0, cost: 0 }), o),
      'Z.AI ⛔ daily spent, probing, next 14:05 · quota not polled',
    );
  });

  test("pass-through: only this user's own account's gate is shown", () => {
    const h = structuredClone(healthy);
    h.quota.gate = {
      enabled: true,
      open: false,
      closed: [{ account: 'sha256:aaaaaaaaaaaaaaaa', window: 'five_hour', reset_at: at(1) }],
    } as never;
    assert.doesNotMatch(renderStatusLine(snap(h), { ...o, account: 'sha256:bbbbbbbbbbbbbbbb' }), /⛔/);
    assert.match(
      renderStatusLine(snap(h), { ...o, account: 'sha256:aaaaaaaaaaaaaaaa' }),
      /⛔ 5h spent, reopens 15:00/,
    );
  });

  test('stale: percentages marked, the sample age, no forecast', () => {
    const h = structuredClone(healthy);
    h.quota.fresh = false;
    h.quota.sample_age_seconds = 22 * 60;
    assert.equal(
      renderStatusLine(snap(h), o),
      'Z.AI 5h 37%? ↻17:30 · week 52%? ↻Tue 12:41 · (quota stale 22m) · 1.2M tok $3.40',
    );
  });

  test('polling on but no sample yet', () => {
    const h = { quota: { enabled: true, fresh: false } };
    assert.equal(renderStatusLine(snap(h, { tokens: 0, cost: 0 }), o), 'Z.AI quota: no sample yet');
  });

  test('proxy down: says so, with the last values while they are recent', () => {
    assert.equal(renderStatusLine(null, { ...o, down: true }), 'Z.AI proxy down (127.0.0.1:8080)');
    const last = { ...snap(healthy), fetchedAtMs: NOW - 3 * 60_000 };
    assert.match(renderStatusLine(last, { ...o, down: true }), /^Z\.AI Z\.AI proxy down|^Z\.AI proxy down/);
    assert.match(
      renderStatusLine(last, { ...o, down: true }),
      /^Z\.AI proxy down \(127\.0\.0\.1:8080\), 3m ago: 5h 37% ↻17:30 · week 52%/,
    );
    const old = { ...snap(healthy), fetchedAtMs: NOW - 2 * 3_600_000 };
    assert.equal(renderStatusLine(old, { ...o, down: true }), 'Z.AI proxy down (127.0.0.1:8080)');
  });
});

test('totalsFromMetrics, proxyUrl, accountOf', () => {
  const text = [
    '# TYPE zai_proxy_tokens_total counter',
    'zai_proxy_tokens_total{direction="input",model="glm-4.7",variant="production",pricing_tier="peak",source="provider"} 1000',
    'zai_proxy_tokens_total{direction="output",model="glm-4.7",variant="production",pricing_tier="peak",source="provider"} 234',
    'zai_proxy_estimated_cost_usd_total{direction="input",model="glm-4.7",variant="production",pricing_tier="peak",source="provider"} 0.5',
    'zai_proxy_tokens_total_other 99',
  ].join('\n');
  assert.deepEqual(totalsFromMetrics(text), { tokens: 1234, cost: 0.5 });
  assert.equal(
    proxyUrl([], { ANTHROPIC_BASE_URL: 'http://10.0.0.2:8080/api/anthropic' }),
    'http://10.0.0.2:8080',
  );
  assert.equal(proxyUrl(['--url=http://h:1'], { ANTHROPIC_BASE_URL: 'http://x:2' }), 'http://h:1');
  assert.equal(proxyUrl([], {}), 'http://127.0.0.1:8080');
  // The proxy names a pass-through account sha256: + the first 8 bytes of the key's digest, in hex.
  assert.equal(accountOf({ ANTHROPIC_AUTH_TOKEN: 'k' }), 'sha256:8254c329a92850f6');
  assert.equal(accountOf({}), null);
});

describe('the command', () => {
  const BIN = fileURLToPath(new URL('../../../../bin/zai-proxy.mjs', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'statusline-'));
  let server: Server;
  let url = '';
  let health: unknown = healthy;
  let hits = 0;
  before(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/health')
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(health));
      else if (req.url === '/metrics')
        res
          .writeHead(200)
          .end(
            'zai_proxy_tokens_total{direction="output"} 2500\nzai_proxy_estimated_cost_usd_total{direction="output"} 0.25\n',
          );
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [BIN, 'statusline', ...args],
        { env: { PATH: process.env.PATH, TZ: 'UTC' } },
        (e, out, err) =>
          resolve({ code: e === null ? 0 : ((e as { code?: number }).code ?? null), out, err }),
      );
    });

  test('prints one line from /health and /metrics; caches it; says down when the proxy is gone', async () => {
    const cache = join(dir, 'a.json');
    const first = await run([`--url=${url}`, `--cache-file=${cache}`, '--cache-ms=60000']);
    assert.equal(first.code, 0);
    assert.match(
      first.out,
      /^Z\.AI 5h 37% ↻\d\d:\d\d · week 52% ↻(\w{3} )?\d\d:\d\d · .* · 2\.5k tok \$0\.25\n$/,
    );
    const before = hits;
    health = { quota: { enabled: false, fresh: false } };
    const cached = await run([`--url=${url}`, `--cache-file=${cache}`, '--cache-ms=60000']);
    assert.equal(cached.out, first.out);
    assert.equal(hits, before, 'a fresh cache answers without a request');
    const refreshed = await run([`--url=${url}`, `--cache-file=${cache}`, '--cache-ms=0']);
    assert.equal(refreshed.out, 'Z.AI quota not polled · 2.5k tok $0.25\n');
    const down = await run(['--url=http://127.0.0.1:1', `--cache-file=${join(dir, 'b.json')}`]);
    assert.deepEqual([down.code, down.out], [0, 'Z.AI proxy down (127.0.0.1:1)\n']);
  });

  test('--help and an unknown command', async () => {
    const help = await new Promise<string>((resolve) =>
      execFile(process.execPath, [BIN, '--help'], (_e, out) => resolve(out)),
    );
    assert.match(help, /statusline/);
    const bad = await new Promise<number | null>((resolve) =>
      execFile(process.execPath, [BIN, 'nope'], (e) => resolve((e as { code?: number } | null)?.code ?? 0)),
    );
    assert.equal(bad, 2);
  });
});
