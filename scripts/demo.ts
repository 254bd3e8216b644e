// `npm run demo`: the simulated Z.AI upstream, the proxy in front of it and a little traffic through
// the official SDKs, so a newcomer without a Z.AI key sees the proxy work end to end. Then a canary
// proxy beside it, steady simulated traffic to both and the dashboard watching them live, until
// Ctrl-C (`npm run demo -- --once` stops after the first part).
import Anthropic from '@anthropic-ai/sdk';
import { startSimUpstream } from '@zai-proxy/testkit';
import OpenAI from 'openai';
import { pino } from 'pino';
import { createDashboard } from '../packages/dashboard/src/app.ts';
import { loadConfig as loadDashboardConfig } from '../packages/dashboard/src/config.ts';
import { loadConfig } from '../packages/proxy/src/config.ts';
import { createLogger } from '../packages/proxy/src/log.ts';
import { createProxy } from '../packages/proxy/src/server.ts';
import { createAccounting } from '../packages/proxy/src/usage/index.ts';

const DEMO_KEY = 'demo-zai-key';

const sim = await startSimUpstream({ apiKey: DEMO_KEY });
const cfg = loadConfig({
  ZAI_API_KEY: DEMO_KEY,
  ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
  ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
});
const log = createLogger(cfg.LOG_LEVEL);
const proxy = createProxy(cfg, { log, accounting: await createAccounting(cfg, log) });
const { port } = await proxy.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${port}`;
console.log(`\nsimulated Z.AI upstream: ${sim.url}\nzai-proxy:                ${base}\n`);

const ant = new Anthropic({ apiKey: 'any-client-key', baseURL: base });
const oai = new OpenAI({ apiKey: 'any-client-key', baseURL: `${base}/v1` });

const msg = await ant.messages.create({
  model: 'glm-4.6',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(
  'anthropic  messages.create  →',
  JSON.stringify(msg.content[0]),
  'usage',
  JSON.stringify(msg.usage),
);

const stream = ant.messages.stream({
  model: 'glm-4.6',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Stream please' }],
});
let deltas = 0;
stream.on('text', () => deltas++);
const final = await stream.finalMessage();
console.log(`anthropic  messages.stream  → ${deltas} text deltas, usage ${JSON.stringify(final.usage)}`);

const chat = await oai.chat.completions.create({
  model: 'glm-4.6',
  messages: [{ role: 'user', content: 'Hi' }],
});
console.log(
  'openai     chat.completions →',
  JSON.stringify(chat.choices[0]?.message.content),
  'usage',
  JSON.stringify(chat.usage),
);

sim.enqueue('zai_error;status=429;code=1302', 'ok');
await ant.messages.create({
  model: 'glm-4.6',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'busy?' }],
});
console.log(
  'anthropic  429 code 1302 (concurrency) then 200 → retried by the proxy, the client saw a success',
);

const metrics = await (await fetch(`${base}/metrics`)).text();
console.log('\nfrom /metrics:');
for (const line of metrics.split('\n')) {
  if (/^zai_proxy_(requests_total|tokens_total|retry_attempts_total|zai_errors_total)\{/.test(line))
    console.log(' ', line);
}
console.log(
  `\nupstream saw ${sim.journal.length} requests, every one with the proxy's key, none with the client's.`,
);
if (process.argv.includes('--once')) {
  await proxy.shutdown(1000);
  await sim.close();
  process.exit(0);
}

// Live part: a canary proxy (variant "canary") beside the first one, and the dashboard scraping both.
log.level = process.env.LOG_LEVEL ?? 'warn'; // one line per request would bury the URLs
const canaryCfg = loadConfig({
  ZAI_API_KEY: DEMO_KEY,
  ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
  ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
  DEPLOYMENT_VARIANT: 'canary',
  LOG_LEVEL: 'warn',
});
const canaryLog = createLogger(canaryCfg.LOG_LEVEL);
const canary = createProxy(canaryCfg, {
  log: canaryLog,
  accounting: await createAccounting(canaryCfg, canaryLog),
});
const canaryBase = `http://127.0.0.1:${(await canary.listen(0, '127.0.0.1')).port}`;
const dashCfg = loadDashboardConfig({
  LISTEN_ADDR: process.env.LISTEN_ADDR ?? '127.0.0.1:8081',
  SCRAPE_TARGETS: `production=${base}/metrics,canary=${canaryBase}/metrics`,
  SCRAPE_INTERVAL: '2s',
  DB_PATH: ':memory:',
  LOG_LEVEL: 'warn',
});
const dash = createDashboard(dashCfg, { log: pino({ level: 'warn' }) });
const dashAddr = await dash.listen();
console.log(`\nlive: production ${base}, canary ${canaryBase}`);
console.log(`dashboard: http://127.0.0.1:${dashAddr.port}/  (API: /api/status, /api/canary, /api/usage)`);
console.log('steady traffic to both (the canary gets an upstream 500 now and then); Ctrl-C ends the demo\n');

let n = 0;
const models = ['glm-4.6', 'glm-4.5-air'];
const traffic = setInterval(() => {
  n++;
  for (const target of [base, canaryBase]) {
    const failing = target === canaryBase && n % 25 === 0;
    void fetch(`${target}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': 'any-client-key',
        ...(failing ? { 'x-sim-scenario': 'status;code=500' } : {}),
      },
      body: JSON.stringify({
        model: models[n % 2],
        max_tokens: 64,
        stream: n % 3 === 0,
        messages: [{ role: 'user', content: `request ${n}: ${'tell me more '.repeat(n % 7)}` }],
      }),
    })
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  }
}, 250);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(traffic);
  await dash.close(1000);
  await Promise.all([proxy.shutdown(1000), canary.shutdown(1000)]);
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
