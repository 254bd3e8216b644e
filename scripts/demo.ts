// `npm run demo`: the simulated Z.AI upstream, the proxy in front of it and a little traffic through
// the official SDKs, so a newcomer without a Z.AI key sees the proxy work end to end.
import Anthropic from '@anthropic-ai/sdk';
import { buildProxy, createLogger, loadConfig } from '@zai-proxy/proxy';
import { startSimUpstream } from '@zai-proxy/testkit';
import OpenAI from 'openai';

const DEMO_KEY = 'demo-zai-key';

const sim = await startSimUpstream({ apiKey: DEMO_KEY });
const cfg = loadConfig({
  ZAI_API_KEY: DEMO_KEY,
  ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
  ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
});
const log = createLogger(cfg.LOG_LEVEL);
const proxy = await buildProxy(cfg, log);
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
await proxy.shutdown(1000);
await sim.close();
