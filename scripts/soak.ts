// Soak: mixed traffic with injected faults through one zai-proxy (its own process) in front of the
// simulated Z.AI (its own process), for a bounded time, on 127.0.0.1 only. Samples the proxy's
// RSS, heap, event-loop delay and open fds; counts requests, faults injected and what clients saw,
// by cause; at the end scans everything the proxy wrote and served for the Z.AI key.
//
//   npm run soak                                 # 10 minutes, 16 clients
//   npm run soak -- --minutes=3 --concurrency=24 --seed=7 --json=/tmp/soak.json
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SoakSample } from './soak-proxy.ts';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const MINUTES = Number(args.get('minutes') ?? 10);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const SAMPLE_MS = Number(args.get('sample-ms') ?? 10_000);
let seed = Number(args.get('seed') ?? 1);
const JSON_OUT = args.get('json');
if (!(MINUTES > 0 && MINUTES <= 120) || !(CONCURRENCY >= 1 && CONCURRENCY <= 256)) {
  console.error('usage: soak [--minutes=1..120] [--concurrency=1..256] [--seed=N] [--json=path]');
  process.exit(2);
}
const HARD_LIMIT_MS = MINUTES * 60_000 + 120_000; // the whole run, startup and drain included

const ZAI_KEY = 'zai-soak-KEY-5e3f0c9a1b2d4e6f';
const PROXY_KEY = 'soak-client-key';
const root = fileURLToPath(new URL('..', import.meta.url));
const logPath = join(tmpdir(), `zai-soak-proxy-${process.pid}.log`);

/** Deterministic: mulberry32. */
function rand(): number {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function env(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG'])
    if (process.env[k] !== undefined) out[k] = process.env[k]!;
  return { ...out, ...extra };
}

/** Starts a child that prints `listening <url>` on the given stream. */
async function start(script: string, e: Record<string, string>, urlOn: 'stdout' | 'stderr', log?: string) {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, script)], {
    env: env(e),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    cwd: root,
  });
  const sink = log === undefined ? null : createWriteStream(log);
  if (sink !== null) {
    child.stdout!.pipe(sink);
  } else child.stdout!.resume();
  // The url line comes on urlOn; with a log file, stderr goes there too (the proxy's crash output).
  const lines = createInterface({ input: urlOn === 'stdout' ? child.stdout! : child.stderr! });
  if (sink !== null) child.stderr!.pipe(sink, { end: false });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script}: not listening after 30 s`)), 30_000);
    lines.on('line', (l) => {
      const m = /^listening (http:\S+)/.exec(l);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (c) => reject(new Error(`${script} exited with ${c}`)));
  });
  return { child, url };
}

let askId = 0;
function ask<T>(child: ChildProcess, type: string): Promise<T> {
  const id = ++askId;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${type}`)), 10_000);
    const on = (m: { id: number } & T) => {
      if (m.id !== id) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ type, id });
  });
}

// --- traffic ---------------------------------------------------------------------------------------

type Api = 'anthropic' | 'openai';
interface Kind {
  name: string;
  weight: number;
  api?: Api;
  stream?: boolean;
  scenario?: string;
  /** What the client does: a normal request, leave mid-stream, or send broken input. */
  act?: 'normal' | 'abort_mid_stream' | 'abort_before_headers' | 'bad_json' | 'oversized' | 'stalled_upload';
}

// Faults at roughly the rate a bad hour on Z.AI shows them; the rest is healthy mixed traffic.
const KINDS: Kind[] = [
  { name: 'ok', weight: 40, scenario: 'ok' },
  { name: 'ok_long_stream', weight: 8, stream: true, scenario: 'ok;events=6;delay=400' }, // keepalives at 300 ms
  { name: 'ok_no_usage', weight: 4, scenario: 'ok;no_usage=1' },
  {
    name: 'zai_429_concurrency',
    weight: 4,
    scenario: 'fail_then_ok;times=1;with=zai_error;status=429;code=1302',
  },
  // A spent quota window closes the proxy's quota gate for the whole account until its reset: rare,
  // and with a reset 3 s ahead, so the run goes on after it.
  { name: 'zai_429_quota', weight: 0.015, scenario: 'zai_error;status=429;code=1308;reset=+3' },
  { name: 'zai_529', weight: 2, scenario: 'fail_then_ok;times=1;with=zai_error;status=529;code=1305' },
  { name: 'status_500', weight: 2, scenario: 'status;code=500' },
  { name: 'reset_before_headers', weight: 2, scenario: 'reset_before_headers' },
  { name: 'reset_mid_stream', weight: 3, stream: true, scenario: 'reset_mid_stream;after=3' },
  { name: 'stall_mid_stream', weight: 1, stream: true, scenario: 'stall;after=2' },
  { name: 'slow_headers', weight: 2, scenario: 'slow_headers;delay=1500' },
  { name: 'invalid_json_2xx', weight: 1, scenario: 'invalid_json' },
  {
    name: 'client_abort_mid_stream',
    weight: 4,
    stream: true,
    scenario: 'ok;events=20;delay=50',
    act: 'abort_mid_stream',
  },
  {
    name: 'client_abort_before_headers',
    weight: 2,
    scenario: 'slow_headers;delay=3000',
    act: 'abort_before_headers',
  },
  { name: 'bad_json', weight: 3, act: 'bad_json' },
  { name: 'oversized_body', weight: 1, act: 'oversized' },
  { name: 'stalled_upload', weight: 1, act: 'stalled_upload' },
];
const TOTAL_WEIGHT = KINDS.reduce((a, k) => a + k.weight, 0);
function pick(): Kind {
  let r = rand() * TOTAL_WEIGHT;
  for (const k of KINDS) {
    r -= k.weight;
    if (r < 0) return k;
  }
  return KINDS[0]!;
}

const PATHS: Record<Api, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
function body(api: Api, stream: boolean): string {
  return JSON.stringify({
    model: 'glm-4.6',
    ...(api === 'anthropic' ? { max_tokens: 64 } : {}),
    stream,
    messages: [{ role: 'user', content: `soak ${Math.floor(rand() * 1e9)}` }],
  });
}

const counts = {
  requests: 0,
  byKind: {} as Record<string, number>,
  /** What clients saw: status classes, complete streams, broken streams, socket errors. */
  seen: {} as Record<string, number>,
};
const bump = (o: Record<string, number>, k: string) => {
  o[k] = (o[k] ?? 0) + 1;
};
/** When the injected 1308s went out and when the quota gate's own 429s came back (s since start):
 *  whether the gate held the account closed past the reset the 1308 named (3 s). */
const quota = { injectedAtSec: [] as number[], gateRefusals: 0, firstRefusalSec: -1, lastRefusalSec: -1 };
const sinceStart = () => Math.round((Date.now() - t0) / 100) / 10;

function one(base: string, k: Kind): Promise<string> {
  const api: Api = k.api ?? (rand() < 0.5 ? 'anthropic' : 'openai');
  const stream = k.stream ?? rand() < 0.5;
  const act = k.act ?? 'normal';
  if (act === 'stalled_upload') return stalledUpload(base);
  let payload = body(api, stream);
  if (act === 'bad_json') payload = payload.slice(0, payload.length - 7);
  if (act === 'oversized') payload = `{"x":"${'a'.repeat(1_100_000)}"}`;
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-api-key': PROXY_KEY };
    if (k.scenario !== undefined) headers['x-sim-scenario'] = k.scenario;
    const req = request(`${base}${PATHS[api]}`, { method: 'POST', headers }, (res) => {
      const status = res.statusCode ?? 0;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (act === 'abort_mid_stream' && bytes > 0) req.destroy();
      });
      const errText: Buffer[] = [];
      if (status >= 400) res.on('data', (c: Buffer) => errText.push(c));
      res.on('end', () => resolve(res.complete ? cause(status, res.headers, errText) : `${status}_broken`));
      res.on('error', () =>
        resolve(act === 'abort_mid_stream' ? 'client_left_mid_stream' : `${status}_broken`),
      );
      res.on('close', () =>
        resolve(act === 'abort_mid_stream' ? 'client_left_mid_stream' : `${status}_broken`),
      );
    });
    req.on('error', (e) =>
      resolve(
        act === 'abort_before_headers'
          ? 'client_left_before_headers'
          : `socket_${(e as NodeJS.ErrnoException).code}`,
      ),
    );
    if (act === 'abort_before_headers') setTimeout(() => req.destroy(), 300);
    req.end(payload);
  });
}

/** A status with its cause: Z.AI's error class, or the proxy's own error code (OpenAI envelope). */
function cause(status: number, h: Record<string, string | string[] | undefined>, body: Buffer[]): string {
  if (status < 400) return String(status);
  const cls = h['x-zai-error-class'];
  if (typeof cls === 'string') return `${status} ${cls}`;
  const code = /"code":\s*"([a-z_]+)"/.exec(Buffer.concat(body).toString())?.[1];
  return code === undefined ? String(status) : `${status} ${code}`;
}

/** Headers and part of a body, then silence: the proxy must answer 408 and let go. */
function stalledUpload(base: string): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    let out = '';
    s.on('connect', () =>
      s.write(
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${PROXY_KEY}\r\ncontent-length: 300\r\n\r\n{"model":`,
      ),
    );
    s.on('data', (c) => {
      out += c;
    });
    s.on('error', () => {});
    s.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 'closed_silently'));
  });
}

// --- run -------------------------------------------------------------------------------------------

const hard = setTimeout(() => {
  console.error(`soak: hard time limit (${HARD_LIMIT_MS} ms) reached, stopping`);
  process.exit(3);
}, HARD_LIMIT_MS);
hard.unref();

const sim = await start('bench/sim-process.ts', { SIM_API_KEY: ZAI_KEY }, 'stdout');
const proxy = await start(
  'scripts/soak-proxy.ts',
  {
    PORT: '0',
    HOST: '127.0.0.1',
    ZAI_API_KEY: ZAI_KEY,
    PROXY_API_KEYS: PROXY_KEY,
    ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
    ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
    TOKEN_COUNTING_ENABLED: 'true',
    LOG_LEVEL: 'debug', // every line the proxy can write goes through the secrets scan
    MAX_REQUEST_BYTES: '1000000',
    MAX_RETRIES: '1',
    UPSTREAM_HEADERS_TIMEOUT: '2s',
    UPSTREAM_IDLE_TIMEOUT: '2s',
    STREAM_KEEPALIVE_INTERVAL: '300ms',
    REQUEST_BODY_TIMEOUT: '2s',
  },
  'stderr',
  logPath,
);
const samples: (SoakSample & { tSec: number; requests: number })[] = [];
const t0 = Date.now();
const sample = async () => {
  const s = (await ask<{ sample: SoakSample }>(proxy.child, 'sample')).sample;
  samples.push({ ...s, tSec: Math.round((Date.now() - t0) / 1000), requests: counts.requests });
  const mb = (b: number) => (b / 1048576).toFixed(0);
  console.error(
    `[soak ${Math.round((Date.now() - t0) / 1000)}s] requests ${counts.requests}  rss ${mb(s.rssBytes)} MB  heap ${mb(s.heapUsedBytes)} MB  loop p99 ${s.loopP99Ms.toFixed(1)} ms max ${s.loopMaxMs.toFixed(0)} ms  fds ${s.fds}`,
  );
};
await sample();
const sampler = setInterval(() => void sample().catch(() => {}), SAMPLE_MS);
const endAt = t0 + MINUTES * 60_000;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < endAt) {
      const k = pick();
      bump(counts.byKind, k.name);
      counts.requests++;
      if (k.name === 'zai_429_quota') quota.injectedAtSec.push(sinceStart());
      const seen = await one(proxy.url, k);
      bump(counts.seen, seen);
      if (seen === '429 quota' && k.name !== 'zai_429_quota') {
        quota.gateRefusals++;
        if (quota.firstRefusalSec < 0) quota.firstRefusalSec = sinceStart();
        quota.lastRefusalSec = sinceStart();
      }
    }
  }),
);
clearInterval(sampler);
// Let the proxy settle (closed sockets, timers, a GC) before the last sample.
await new Promise((r) => setTimeout(r, 3000));
await ask(proxy.child, 'gc');
await sample();

const health = await (await fetch(`${proxy.url}/health`)).text();
const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
const ready = (await fetch(`${proxy.url}/readyz`)).status;
const inflight = /^zai_proxy_concurrent_requests(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? '?';
proxy.child.kill('SIGTERM');
sim.child.kill('SIGTERM');
await new Promise((r) => proxy.child.once('exit', r));
const logText = readFileSync(logPath, 'utf8');
const scanned = { 'proxy stdout+stderr': logText, '/health': health, '/metrics': metrics };
const hits = Object.fromEntries(
  Object.entries(scanned).map(([k, v]) => [
    k,
    v.split(ZAI_KEY).length - 1 + (v.split(ZAI_KEY.slice(8, 24)).length - 1),
  ]),
);

const first = samples[0]!;
const last = samples.at(-1)!;
const summary = {
  minutes: MINUTES,
  concurrency: CONCURRENCY,
  seed: Number(args.get('seed') ?? 1),
  requests: counts.requests,
  faultsInjected: Object.fromEntries(Object.entries(counts.byKind).filter(([k]) => !k.startsWith('ok'))),
  healthy: Object.fromEntries(Object.entries(counts.byKind).filter(([k]) => k.startsWith('ok'))),
  seenByClients: counts.seen,
  quota,
  start: first,
  end: last,
  peakRssMB: Math.max(...samples.map((s) => s.rssBytes)) / 1048576,
  peakLoopMaxMs: Math.max(...samples.map((s) => s.loopMaxMs)),
  readyAtEnd: ready,
  inflightAtEnd: inflight,
  logBytesScanned: logText.length,
  secretHits: hits,
  samples,
};
if (JSON_OUT !== undefined) createWriteStream(JSON_OUT).end(JSON.stringify(summary, null, 1));
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
console.log(
  `soak: ${MINUTES} min, ${CONCURRENCY} clients, seed ${summary.seed}: ${counts.requests} requests`,
);
console.log(`faults injected: ${JSON.stringify(summary.faultsInjected)}`);
console.log(`what clients saw: ${JSON.stringify(counts.seen)}`);
if (quota.injectedAtSec.length > 0)
  console.log(
    `quota: 1308 (reset 3 s ahead) injected at ${quota.injectedAtSec.join(', ')} s; ${quota.gateRefusals} gate 429s` +
      (quota.gateRefusals > 0 ? ` from ${quota.firstRefusalSec} s to ${quota.lastRefusalSec} s` : ''),
  );
console.log(
  `proxy RSS ${mb(first.rssBytes)} → ${mb(last.rssBytes)} (peak ${summary.peakRssMB.toFixed(1)} MB); heap ${mb(first.heapUsedBytes)} → ${mb(last.heapUsedBytes)}`,
);
console.log(
  `event-loop delay p99 ${first.loopP99Ms.toFixed(1)} → ${last.loopP99Ms.toFixed(1)} ms (max over run ${summary.peakLoopMaxMs.toFixed(0)} ms); fds ${first.fds} → ${last.fds}`,
);
console.log(`/readyz ${ready}, in flight at end ${inflight}`);
console.log(
  `secrets scan (Z.AI key and a 16-char piece of it): ${JSON.stringify(hits)} over ${logText.length} log bytes`,
);
process.exit(Object.values(hits).some((n) => n > 0) || ready !== 200 ? 1 : 0);
