// What does MODEL_MAP cost a request? The routing step itself (three rules tried, the `model` member
// spliced, the header value built, the routed counter bound), on the proxy bench's small body and on
// a Claude Code-sized one (~90 KB: 24 tools, a long system prompt, 20 turns), as a ratio to the
// JSON.parse of the same body that every request already pays. Without rules there is no routing
// step at all (app.ts picks the prepare function at start-up), so "off" is not measured: it is zero.
// Usage: node --import tsx bench/model-routing.bench.ts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProxy } from '../packages/proxy/src/app.ts';
import { loadConfig } from '../packages/proxy/src/config.ts';
import type { Exchange } from '../packages/proxy/src/exchange.ts';
import { createLogger } from '../packages/proxy/src/log.ts';
import { createModelRouting, parseModelMap } from '../packages/proxy/src/routing/index.ts';
import { ANTHROPIC_JSON } from './request-fixtures.ts';

const N = 5000;
const WARM = 1000;

// The metrics come from a proxy built by the composition root (never listening), so the routed
// counter is the real one.
const log = createLogger('silent');
const proxy = await buildProxy(
  loadConfig({
    TOKEN_COUNTING_ENABLED: 'false',
    RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-routing-bench-${process.pid}.json`),
  }),
  log,
);
const routing = createModelRouting({
  map: parseModelMap('claude-*haiku*=glm-4.5-air,claude-*=glm-4.6,glm-*=glm-4.7').rules,
  stepDown: [],
  metrics: proxy.metrics,
  log,
  now: Date.now,
  quota: () => null,
  staleAfterMs: 900_000,
  isPeak: () => false,
})!;

const tools = Array.from({ length: 24 }, (_, i) => ({
  name: `tool_${i}`,
  description: 'Runs a thing and reports what it found. '.repeat(50),
  input_schema: {
    type: 'object',
    properties: { a: { type: 'string', description: 'the a' }, b: { type: 'number' } },
    required: ['a'],
  },
}));
const CLAUDE_CODE = Buffer.from(
  JSON.stringify({
    model: 'claude-opus-4-8',
    max_tokens: 32000,
    system: [
      { type: 'text', text: 'You are Claude Code. '.repeat(300), cache_control: { type: 'ephemeral' } },
    ],
    tools,
    messages: Array.from({ length: 20 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: [{ type: 'text', text: 'const x = f(y); // a line of code\n'.repeat(40) }],
    })),
    thinking: { type: 'adaptive' },
    stream: true,
  }),
);

/** A stand-in exchange: what route() reads and writes, with a response that only takes a header. */
function exchange(body: Buffer): Exchange {
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  return {
    body,
    json,
    model: json.model as string,
    requestedModel: null,
    route: { kind: 'messages' },
    req: { headers: {} },
    res: { setHeader() {} },
  } as unknown as Exchange;
}

function perCallUs(f: () => unknown): number {
  for (let i = 0; i < WARM; i++) f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Number(process.hrtime.bigint() - t) / N / 1000;
}

for (const [name, body] of [
  ['bench body', ANTHROPIC_JSON.body],
  ['Claude Code-sized body', CLAUDE_CODE],
] as const) {
  const parse = perCallUs(() => JSON.parse(body.toString('utf8')));
  // A body read with a declared length has room past its end (readBody), and the model is spliced
  // in place; without one (a chunked upload) the splice copies the body. Each call starts from the
  // client's request: for the in-place case that means copying the body back, timed alone and
  // subtracted.
  const x = exchange(body);
  const model = x.model;
  const copied = perCallUs(() => {
    x.body = body;
    x.bodyEditRoom = false;
    x.model = model;
    x.requestedModel = null;
    routing.route(x);
  });
  const room = Buffer.allocUnsafeSlow(body.length + 64);
  const view = room.subarray(0, body.length);
  const restore = perCallUs(() => body.copy(room));
  const inPlace =
    perCallUs(() => {
      body.copy(room);
      x.body = view;
      x.bodyEditRoom = true;
      x.model = model;
      x.requestedModel = null;
      routing.route(x);
    }) - restore;
  console.log(
    `${name} (${body.length} B): JSON.parse ${parse.toFixed(1)} µs; route in place ${inPlace.toFixed(1)} µs ×${(inPlace / parse).toFixed(2)} of the parse; route copying ${copied.toFixed(1)} µs ×${(copied / parse).toFixed(2)}`,
  );
}
await proxy.shutdown(0);
