import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStreamObserver, type StreamResult } from './stream-observer.ts';
import { DEFERRED_DATA_CHARS } from './stream-text.ts';
import type { ApiFamily, Usage } from './types.ts';

// countOutput stub: characters, so the collected text can be checked exactly.
const byLength = (t: string) => t.length;

function sse(events: [string | null, unknown][]): string {
  return events
    .map(
      ([name, data]) =>
        `${name === null ? '' : `event: ${name}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    )
    .join('');
}

// A Z.AI-style Anthropic stream: zeros in message_start, real usage only in message_delta.
const ANTHROPIC_EVENTS: [string, unknown][] = [
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'glm-4.6',
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    },
  ],
  ['ping', { type: 'ping' }],
  [
    'content_block_start',
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think.' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  [
    'content_block_start',
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hello, world!' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' 東京 🎉\n"ok"' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 1 }],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
  ],
  [
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { input_tokens: 1200, output_tokens: 57, cache_read_input_tokens: 800 },
    },
  ],
  ['message_stop', { type: 'message_stop' }],
];
const ANTHROPIC = sse(ANTHROPIC_EVENTS);
const ANTHROPIC_USAGE: Usage = { input: 1200, output: 57, cache_read: 800, cache_write: 0 };
const ANTHROPIC_TEXT =
  'Let me think.'.length + 'Hello, world!'.length + ' 東京 🎉\n"ok"'.length + '{"city":'.length;

const chunk = (content: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  model: 'glm-4.6',
  choices: [{ index: 0, delta: content, finish_reason: null }],
  usage: null,
  ...extra,
});
const USAGE_EVENT = sse([
  [
    null,
    {
      id: 'c1',
      object: 'chat.completion.chunk',
      model: 'glm-4.6',
      choices: [],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 20,
        total_tokens: 120,
        prompt_tokens_details: { cached_tokens: 30 },
      },
    },
  ],
]);
const OPENAI_HEAD = sse([
  [null, chunk({ role: 'assistant', content: '' })],
  [null, chunk({ content: 'Hello' })],
  [null, chunk({ reasoning_content: 'hmm' })],
  [
    null,
    chunk({
      tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }],
    }),
  ],
  [null, chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })],
]);
const OPENAI_TAIL = 'data: [DONE]\n\n';
const OPENAI = OPENAI_HEAD + USAGE_EVENT + OPENAI_TAIL;
const OPENAI_USAGE: Usage = { input: 70, output: 20, cache_read: 30, cache_write: 0 };
const OPENAI_TEXT = 'Hello'.length + 'hmm'.length + 'get'.length + '{"a":1}'.length;

function split(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

// Deterministic random cut points (mulberry32).
function randomSplit(buf: Buffer, seed: number): Buffer[] {
  let a = seed;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rnd() * 40);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

function run(api: ApiFamily, chunks: Buffer[], strip = false) {
  const o = createStreamObserver(api, { stripUsageChunk: strip });
  const out: Buffer[] = [];
  for (const c of chunks) {
    const r = o.push(c);
    if (!strip) assert.equal(r, c, 'pass-through must return the identical Buffer');
    if (r !== null) out.push(r);
  }
  const end = o.finish();
  if (end.flush !== null) out.push(end.flush);
  return { ...end, outputTextTokens: estimate(end), forwarded: Buffer.concat(out).toString() };
}

/** The output estimate an observer's result gives, counting one token per character. */
function estimate(r: StreamResult): number {
  const t = r.outputText();
  return Math.round(byLength(t.text) * t.scale);
}

function chunkings(text: string): Buffer[][] {
  const buf = Buffer.from(text);
  return [
    [buf],
    split(buf, 1),
    split(buf, 2),
    split(buf, 13),
    ...[1, 2, 3, 4, 5].map((s) => randomSplit(buf, s)),
  ];
}

describe('stream observer: Anthropic', () => {
  it('takes the message_delta usage over the zeros of message_start, never the sum', () => {
    const r = run('anthropic', [Buffer.from(ANTHROPIC)]);
    assert.deepEqual(r.usage, ANTHROPIC_USAGE);
    assert.equal(r.outputTextTokens, ANTHROPIC_TEXT);
    assert.equal(r.flush, null);
  });

  it('gives the same result for any chunking, CRLF, multi-line data and data without space', () => {
    const variants = [
      ANTHROPIC,
      ANTHROPIC.replaceAll('\n', '\r\n'),
      ANTHROPIC.replaceAll('data: ', 'data:'),
      // split each JSON payload over two data lines (joined with '\n', which JSON takes as whitespace)
      ANTHROPIC.replaceAll('{"type":', '{\ndata: "type":'),
      // without event: lines the payload type decides
      ANTHROPIC.replace(/^event: .*\n/gm, ''),
      // ... also when the type comes on a later data line than the first
      ANTHROPIC.replace(/^event: .*\n/gm, '').replaceAll('{"type":', '{\ndata: "type":'),
      // unknown event names are decoded and treated like missing ones
      ANTHROPIC.replaceAll('event: message_delta', 'event: message_dElta'),
    ];
    for (const v of variants) {
      for (const chunks of chunkings(v)) {
        const r = run('anthropic', chunks);
        assert.deepEqual(r.usage, ANTHROPIC_USAGE);
        assert.equal(r.outputTextTokens, ANTHROPIC_TEXT);
        assert.equal(r.forwarded, v, 'the concatenation of what was forwarded equals the input');
      }
    }
  });

  it('keeps message_start fields that message_delta does not carry (last value per field wins)', () => {
    const text = sse([
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            usage: {
              input_tokens: 500,
              output_tokens: 1,
              cache_creation_input_tokens: 100,
              cache_read_input_tokens: 0,
            },
          },
        },
      ],
      ['message_delta', { type: 'message_delta', usage: { output_tokens: 42 } }],
    ]);
    assert.deepEqual(run('anthropic', [Buffer.from(text)]).usage, {
      input: 500,
      output: 42,
      cache_read: 0,
      cache_write: 100,
    });
  });

  it('reports null usage when no usage was seen, and survives junk payloads', () => {
    const text =
      'event: message_delta\ndata: {not json\n\nevent: message_start\ndata: {"type":"message_start","message":{}}\n\n';
    const r = run('anthropic', [Buffer.from(text)]);
    assert.equal(r.usage, null);
    assert.equal(r.outputTextTokens, 0);
  });

  it('keeps at most DEFERRED_DATA_CHARS of text payloads, unparsed, and scales the estimate past it', () => {
    const piece = 'x'.repeat(1000);
    const ev = sse([
      ['content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: piece } }],
    ]);
    const n = Math.ceil((3 * DEFERRED_DATA_CHARS) / ev.length);
    const o = createStreamObserver('anthropic', { stripUsageChunk: false });
    for (let i = 0; i < n; i++) o.push(Buffer.from(ev));
    const r = o.finish();
    const t = r.outputText();
    assert.ok(t.text.length <= DEFERRED_DATA_CHARS, 'bounded');
    assert.ok(t.scale > 2.5, `scaled (${t.scale})`);
    assert.equal(Math.round(t.text.length * t.scale), n * piece.length);
  });

  it('ignores the strip option (only OpenAI has a usage-only chunk)', () => {
    const c = Buffer.from(ANTHROPIC);
    const o = createStreamObserver('anthropic', { stripUsageChunk: true });
    assert.equal(o.push(c), c);
    assert.deepEqual(o.finish().usage, ANTHROPIC_USAGE);
  });

  it('stays bounded on a huge line and still finds the usage after it', () => {
    const huge = `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"${'y'.repeat(3 * 1024 * 1024)}"}}\n\n`;
    const text = huge + ANTHROPIC;
    const r = run('anthropic', split(Buffer.from(text), 64 * 1024));
    assert.deepEqual(r.usage, ANTHROPIC_USAGE);
    // The kept prefix (DEFERRED_DATA_CHARS) lies inside the dropped line: nothing of it is counted.
    assert.deepEqual(r.outputText(), { text: '', scale: 1 }, 'the oversized event is dropped, not counted');
    assert.equal(r.forwarded.length, text.length);
  });

  it('keeps a cut copy of a chunk that crosses the bound and counts only its complete events', () => {
    const piece = 'w'.repeat(900);
    const ev = sse([
      ['content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: piece } }],
    ]);
    const n = Math.ceil((2 * DEFERRED_DATA_CHARS) / ev.length);
    const t = run('anthropic', [Buffer.from(ev.repeat(n))]).outputText();
    assert.ok(t.text.length <= DEFERRED_DATA_CHARS && t.text.length > 0);
    assert.equal(Math.round(t.text.length * t.scale), n * piece.length);
  });

  it('charges each kept chunk, so a stream of tiny chunks stays bounded too', () => {
    const ev = sse([
      ['content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: 'abc' } }],
    ]);
    const n = 200;
    const r = run('anthropic', split(Buffer.from(ev.repeat(n)), 1));
    const t = r.outputText();
    assert.ok(t.text.length < 3 * n * 0.5, `bounded (${t.text.length} chars kept)`);
    assert.equal(Math.round(t.text.length * t.scale), 3 * n, 'scaled from bytes');
  });

  it('gives the streamed text from a detached outputText, as often as asked', () => {
    const r = run('anthropic', split(Buffer.from(ANTHROPIC), 7));
    const { outputText } = r;
    const first = outputText();
    assert.deepEqual(outputText(), first);
    assert.equal(first.text, `Let me think.Hello, world! 東京 🎉\n"ok"{"city":`);
    assert.equal(first.scale, 1);
  });
});

describe('stream observer: OpenAI', () => {
  it('takes usage from the usage chunk and subtracts cached tokens from input', () => {
    for (const chunks of chunkings(OPENAI)) {
      const r = run('openai', chunks);
      assert.deepEqual(r.usage, OPENAI_USAGE);
      assert.equal(r.outputTextTokens, OPENAI_TEXT);
      assert.equal(r.forwarded, OPENAI);
    }
  });

  it('finds usage on a later data line than the first, with or without the space, in both modes', () => {
    const multi = (t: string) => t.replaceAll('{"id":', '{\ndata:"id":');
    const v = multi(OPENAI);
    assert.notEqual(v, OPENAI);
    for (const chunks of chunkings(v)) {
      const r = run('openai', chunks);
      assert.deepEqual(r.usage, OPENAI_USAGE);
      assert.equal(r.outputTextTokens, OPENAI_TEXT);
      assert.equal(r.forwarded, v);
      const st = run('openai', chunks, true);
      assert.deepEqual(st.usage, OPENAI_USAGE);
      assert.equal(st.forwarded, multi(OPENAI_HEAD) + OPENAI_TAIL);
    }
  });

  it('accepts usage on the finish chunk and prompt_cache_hit_tokens', () => {
    const text = sse([
      [
        null,
        chunk(
          { content: 'Hi' },
          { usage: { prompt_tokens: 10, completion_tokens: 2, prompt_cache_hit_tokens: 4 } },
        ),
      ],
    ]);
    const r = run('openai', [Buffer.from(text)], true);
    assert.deepEqual(r.usage, { input: 6, output: 2, cache_read: 4, cache_write: 0 });
    assert.equal(r.forwarded, text, 'a chunk with choices is never stripped');
  });

  it('strip mode removes exactly the usage-only event and keeps [DONE], for any chunking', () => {
    for (const v of [OPENAI, OPENAI.replaceAll('\n', '\r\n')]) {
      const expected = v.replace(USAGE_EVENT.replaceAll('\n', v.includes('\r') ? '\r\n' : '\n'), '');
      assert.notEqual(expected, v);
      for (const chunks of chunkings(v)) {
        const r = run('openai', chunks, true);
        assert.equal(r.forwarded, expected);
        assert.ok(r.forwarded.endsWith('data: [DONE]\r\n\r\n') || r.forwarded.endsWith('data: [DONE]\n\n'));
        assert.deepEqual(r.usage, OPENAI_USAGE);
      }
    }
  });

  it('strip mode holds back at most the event in progress', () => {
    const buf = Buffer.from(OPENAI);
    const expected = OPENAI_HEAD + OPENAI_TAIL;
    for (let k = 0; k <= buf.length; k++) {
      const o = createStreamObserver('openai', { stripUsageChunk: true });
      const first = o.push(buf.subarray(0, k));
      // everything up to the last complete event is out at once
      const boundary = buf.subarray(0, k).lastIndexOf('\n\n');
      const complete = boundary === -1 ? '' : buf.subarray(0, boundary + 2).toString();
      assert.equal(first?.toString() ?? '', complete.replace(USAGE_EVENT, ''), `prefix ${k}`);
      const second = o.push(buf.subarray(k));
      const { flush } = o.finish();
      assert.equal(flush, null);
      assert.equal((first?.toString() ?? '') + (second?.toString() ?? ''), expected, `prefix ${k}`);
    }
  });

  it('strip mode passes whole-event chunks through as the same Buffer', () => {
    const events = OPENAI_HEAD.split(/(?<=\n\n)/).map((e) => Buffer.from(e));
    const o = createStreamObserver('openai', { stripUsageChunk: true });
    for (const e of events) assert.equal(o.push(e), e);
    assert.equal(o.push(Buffer.from(USAGE_EVENT)), null);
    const done = Buffer.from(OPENAI_TAIL);
    assert.equal(o.push(done), done);
  });

  it('strip mode stops holding an event past 1 MiB and forwards it unchanged', () => {
    const big = `data: {"choices":[],"usage":{"prompt_tokens":1},"pad":"${'z'.repeat(2 * 1024 * 1024)}"}\n\n`;
    const text = OPENAI_HEAD + big + USAGE_EVENT + OPENAI_TAIL;
    const o = createStreamObserver('openai', { stripUsageChunk: true });
    let out = '';
    let maxHeld = 0;
    let pushed = 0;
    for (const c of split(Buffer.from(text), 64 * 1024)) {
      out += o.push(c)?.toString() ?? '';
      pushed += c.length;
      maxHeld = Math.max(maxHeld, pushed - Buffer.byteLength(out));
    }
    out += o.finish().flush?.toString() ?? '';
    assert.equal(out, OPENAI_HEAD + big + OPENAI_TAIL);
    assert.ok(maxHeld <= 1024 * 1024 + 64 * 1024, `held ${maxHeld} bytes`);
  });
});
