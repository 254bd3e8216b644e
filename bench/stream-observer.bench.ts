// How much CPU the usage observer costs per Anthropic stream (20 text deltas, 3.3 KB), in-process.
// Run: node --import tsx bench/stream-observer.bench.ts  (the median of rounds is the figure to quote)
import { createStreamObserver } from '../packages/proxy/src/usage/index.ts';

const ev = (name: string, d: object) => `event: ${name}\ndata: ${JSON.stringify(d)}\n\n`;
let s = ev('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_sim_1',
    type: 'message',
    role: 'assistant',
    model: 'glm-4.6',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  },
});
s +=
  ev('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }) + ev('ping', { type: 'ping' });
for (let i = 0; i < 20; i++)
  s += ev('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: ' words words' },
  });
s +=
  ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  ev('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { input_tokens: 8, output_tokens: 6, cache_read_input_tokens: 0 },
  }) +
  ev('message_stop', { type: 'message_stop' });
const buf = Buffer.from(s);
console.log('stream bytes', buf.length);
for (const round of [1, 2, 3]) {
  const N = 20000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const o = createStreamObserver('anthropic', { stripUsageChunk: false });
    o.push(buf);
    o.finish();
  }
  console.log('round', round, (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(2), 'µs per stream');
}
