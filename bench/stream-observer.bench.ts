// How much CPU the usage observer costs per stream, in-process: an Anthropic stream (20 text deltas,
// 3.3 KB) and an OpenAI one (20 deltas and the usage chunk), the latter also in strip mode; each fed whole
// (one chunk) and one event per chunk (as Z.AI's paced streams arrive).
// Run: node --import tsx bench/stream-observer.bench.ts [--baseline <path to another stream-observer.ts>]
// With --baseline (e.g. a copy of the previous version's usage/ folder) both run in the same process, in
// interleaved rounds, and the report adds new ÷ baseline. Quote the medians; the machine is noisy.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createStreamObserver, type StreamObserver } from '../packages/proxy/src/usage/index.ts';
import { median } from './sample-stats.ts';

type Create = (api: 'anthropic' | 'openai', opts: { stripUsageChunk: boolean }) => StreamObserver;

const ROUNDS = 9;
const STREAMS_PER_ROUND = 4000;

const ev = (name: string, d: object) => `event: ${name}\ndata: ${JSON.stringify(d)}\n\n`;
const anthropicEvents = [
  ev('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_sim_1',
      type: 'message',
      role: 'assistant',
      model: 'glm-4.6',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    },
  }),
  ev('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }),
  ev('ping', { type: 'ping' }),
];
for (let i = 0; i < 20; i++) {
  anthropicEvents.push(
    ev('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: ' words words' },
    }),
  );
}
anthropicEvents.push(
  ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
  ev('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { input_tokens: 8, output_tokens: 6, cache_read_input_tokens: 0 },
  }),
  ev('message_stop', { type: 'message_stop' }),
);

// As Z.AI's /api/paas/v4 sends it (see testkit openai-responses.ts), with include_usage.
const chunk = (choices: unknown[], usage?: object) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-sim-1', object: 'chat.completion.chunk', created: 1700000000, model: 'glm-4.6', choices, ...(usage === undefined ? {} : { usage }) })}\n\n`;
const openAiEvents = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])];
for (let i = 0; i < 20; i++) {
  openAiEvents.push(chunk([{ index: 0, delta: { content: ' words words' }, finish_reason: null }]));
}
openAiEvents.push(
  chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
  chunk([], {
    prompt_tokens: 8,
    completion_tokens: 6,
    total_tokens: 14,
    prompt_tokens_details: { cached_tokens: 0 },
  }),
  'data: [DONE]\n\n',
);

interface Case {
  name: string;
  api: 'anthropic' | 'openai';
  strip: boolean;
  chunks: Buffer[];
  /** Also ask for the streamed text (the rare path: a stream that reported no usage). */
  text?: boolean;
}

const whole = (events: string[]) => [Buffer.from(events.join(''))];
const perEvent = (events: string[]) => events.map((e) => Buffer.from(e));
const CASES: Case[] = [
  { name: 'anthropic, 1 chunk', api: 'anthropic', strip: false, chunks: whole(anthropicEvents) },
  { name: 'anthropic, chunk per event', api: 'anthropic', strip: false, chunks: perEvent(anthropicEvents) },
  { name: 'openai, 1 chunk', api: 'openai', strip: false, chunks: whole(openAiEvents) },
  { name: 'openai, chunk per event', api: 'openai', strip: false, chunks: perEvent(openAiEvents) },
  { name: 'openai strip, 1 chunk', api: 'openai', strip: true, chunks: whole(openAiEvents) },
  { name: 'openai strip, chunk per event', api: 'openai', strip: true, chunks: perEvent(openAiEvents) },
  {
    name: 'anthropic + outputText() (rare)',
    api: 'anthropic',
    strip: false,
    chunks: whole(anthropicEvents),
    text: true,
  },
];

/** µs per stream over n streams. */
function run(create: Create, c: Case, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const o = create(c.api, { stripUsageChunk: c.strip });
    for (const b of c.chunks) o.push(b);
    const r = o.finish();
    if (r.usage === null) throw new Error(`${c.name}: no usage found`);
    if (c.text === true) r.outputText();
  }
  return Number(process.hrtime.bigint() - t) / n / 1000;
}

async function loadBaseline(): Promise<Create | null> {
  const i = process.argv.indexOf('--baseline');
  if (i === -1) return null;
  const path = process.argv[i + 1];
  if (path === undefined) throw new Error('--baseline needs the path of a stream-observer.ts');
  const mod = (await import(pathToFileURL(resolve(path)).href)) as { createStreamObserver: Create };
  return mod.createStreamObserver;
}

const baseline = await loadBaseline();
const impls: [string, Create][] = [['new', createStreamObserver]];
if (baseline !== null) impls.push(['baseline', baseline]);

console.log(
  `stream bytes: anthropic ${CASES[0]!.chunks[0]!.length}, openai ${CASES[2]!.chunks[0]!.length};`,
  `${ROUNDS} rounds × ${STREAMS_PER_ROUND} streams`,
);
for (const c of CASES) for (const [, create] of impls) run(create, c, STREAMS_PER_ROUND); // warm-up: JIT
const samples = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  // alternate the order so drift hits both implementations alike
  const order = round % 2 === 0 ? impls : [...impls].reverse();
  for (const c of CASES) {
    for (const [name, create] of order) {
      const key = `${c.name}\t${name}`;
      const list = samples.get(key) ?? [];
      list.push(run(create, c, STREAMS_PER_ROUND));
      samples.set(key, list);
    }
  }
}
for (const c of CASES) {
  const cur = median(samples.get(`${c.name}\tnew`)!);
  let line = `${c.name.padEnd(32)} ${cur.toFixed(2).padStart(7)} µs/stream`;
  if (baseline !== null) {
    const base = median(samples.get(`${c.name}\tbaseline`)!);
    line += `   baseline ${base.toFixed(2).padStart(7)} µs   new ÷ baseline ${(cur / base).toFixed(2)}`;
  }
  console.log(line);
}
