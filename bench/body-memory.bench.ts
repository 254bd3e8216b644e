// RSS of the proxy per request-body byte it holds: N concurrent large bodies are sent through a
// proxy process to an upstream that reads every byte and never answers, so each body stays held
// (retries need it) while the proxy's RSS is read from /proc. Prints before, during and the ratio.
// Usage: node --import tsx bench/body-memory.bench.ts [--bodies=8] [--mb=30] [--api=anthropic|openai]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const BODIES = Number(arg('bodies', '8'));
const MB = Number(arg('mb', '30'));
const API = arg('api', 'anthropic');

// Upstream: reads request bytes, never answers.
let received = 0;
const sockets: Socket[] = [];
const sink = new Server((s) => {
  sockets.push(s);
  s.on('data', (c) => {
    received += c.length;
  });
  s.on('error', () => {});
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkPort = (sink.address() as { port: number }).port;

const child = spawn(process.execPath, ['--import', 'tsx', 'packages/proxy/src/main.ts'], {
  env: {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ZAI_API_KEY: 'bench-key',
    ZAI_TARGET_URL: `http://127.0.0.1:${sinkPort}/api/anthropic`,
    ZAI_OPENAI_TARGET_URL: `http://127.0.0.1:${sinkPort}/api/paas/v4`,
    UPSTREAM_HEADERS_TIMEOUT: '10m',
    MAX_BUFFERED_REQUEST_BYTES: String((BODIES + 1) * MB * 1024 * 1024),
    // Admission off: every body goes upstream at once, so the bytes upstream received are the
    // bytes the proxy holds (queued bodies would be held without being counted).
    CONCURRENCY_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let port = 0;
let out = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (d: string) => {
  out += d;
  const m = /proxy listening on :(\d+)/.exec(out);
  if (m !== null) port = Number(m[1]);
});
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
for (let i = 0; i < 300 && port === 0; i++) await sleep(100);
if (port === 0) throw new Error(`proxy did not listen: ${out}`);
await sleep(1000);
const before = rssKb();

const path = API === 'openai' ? '/v1/chat/completions' : '/v1/messages';
const text = 'lorem ipsum dolor sit amet '
  .repeat(Math.ceil((MB * 1024 * 1024) / 27))
  .slice(0, MB * 1024 * 1024 - 200);
const body = Buffer.from(
  JSON.stringify({
    model: 'glm-4.6',
    max_tokens: 16,
    stream: true,
    messages: [{ role: 'user', content: text }],
  }),
);
const reqs = [];
for (let i = 0; i < BODIES; i++) {
  const r = request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length },
  });
  r.on('error', () => {});
  r.on('response', (res) => {
    process.stdout.write(`request ${i}: ${res.statusCode}\n`);
    res.resume();
  });
  r.end(body);
  reqs.push(r);
}
const want = BODIES * body.length;
for (let i = 0; i < 600 && received < want; i++) await sleep(100);
await sleep(1500);
const during = rssKb();
const held = received; // bytes the upstream got: bodies the proxy read and still holds
const ratio = ((during - before) * 1024) / held;
process.stdout.write(
  `bodies=${BODIES} x ${(body.length / 1048576).toFixed(1)} MiB (${API}); upstream received ${(held / 1048576).toFixed(0)} MiB\n` +
    `proxy RSS before ${(before / 1024).toFixed(0)} MiB, holding ${(during / 1024).toFixed(0)} MiB: ${ratio.toFixed(2)} bytes of RSS per held body byte\n`,
);
for (const r of reqs) r.destroy();
for (const s of sockets) s.destroy();
child.kill('SIGKILL');
sink.close();
