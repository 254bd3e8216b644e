import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { MAX_PIECE_CHARS } from './cl100k-count.mjs';
import { countByBytes, createTokenCounter, type TokenCounter, WORKER_THRESHOLD_CHARS } from './tokenizer.ts';

// A deterministic ~135 KB mix of prose, code, URLs, accents, CJK and emoji.
function longText(): string {
  const words = [
    'token',
    'proxy',
    'stream',
    'usage',
    'GLM',
    'Z.AI',
    '東京',
    'naïve',
    'café',
    '🎉',
    'const x = 42;',
  ];
  words.push('\n', '  ', 'https://example.com/a?b=c', '1234567', "don't", "it's");
  let a = 1;
  const out: string[] = [];
  for (let i = 0; i < 20000; i++) {
    a = (a * 1103515245 + 12345) % 2147483648;
    out.push(words[a % words.length]!);
  }
  return out.join(' ');
}

// cl100k_base counts: the first three as published by OpenAI's tokenizer page and tiktoken's docs,
// the rest as tiktoken 1.0.22 counts them (and re-checked against it below on every run).
const CORPUS: [string, number][] = [
  ['Hello, world!', 4],
  ['Hello', 1],
  ['The quick brown fox jumps over the lazy dog', 9],
  ['The quick brown fox jumps over the lazy dog.', 10],
  ['export function add(a: number, b: number): number {\n  return a + b; // sum\n}\n', 23],
  ['你好，世界', 6],
  ['日本語のテキストを数える', 12],
  ['안녕하세요 세계', 9],
  ['👋🌍', 6],
  ['👨‍👩‍👧‍👦 family', 19],
  ['   leading spaces', 3],
  ['tab\tand\nnewline\r\n', 5],
  ['Ünïcödé àccents', 10],
  // special-token text in a prompt is plain text, never an error
  ['<|endoftext|><|fim_prefix|>', 13],
  ['', 0],
  [longText(), 47697],
];

describe('token counter (cl100k_base)', () => {
  let counter: TokenCounter;
  let tiktoken: Tiktoken;
  before(async () => {
    counter = await createTokenCounter();
    tiktoken = get_encoding('cl100k_base');
  });
  after(async () => {
    tiktoken.free();
    await counter.close();
  });

  it('loads the real tokenizer', () => {
    assert.equal(counter.mode, 'tiktoken');
  });

  it('matches the reference counts', () => {
    for (const [text, want] of CORPUS)
      assert.equal(counter.count(text), want, JSON.stringify(text.slice(0, 40)));
  });

  it('counts exactly as tiktoken does for every corpus string', () => {
    for (const [text] of CORPUS) {
      // [] disallowed specials: special-token text is encoded as ordinary text, as ours does
      assert.equal(
        counter.count(text),
        tiktoken.encode(text, [], []).length,
        JSON.stringify(text.slice(0, 40)),
      );
    }
  });

  it('counts runaway runs (one letter, space, symbol or CJK char repeated) in linear time, near exactly', () => {
    // Exact counts: 8 'x' per token, 4 spaces per token before a word, '=' x 64, 2 tokens per '東'.
    // As one pre-token these would take hours (quadratic BPE); sliced they take milliseconds.
    const cases: [string, number][] = [
      ['x'.repeat(1 << 20), (1 << 20) / 8],
      ['東'.repeat(1 << 17), 2 << 17],
      [`${' '.repeat(1 << 18)}end`, -1],
      ['='.repeat(1 << 18), -1],
      [`word ${'ab'.repeat(1 << 16)} 🎉`.repeat(3), -1],
    ];
    for (const [text, exact] of cases) {
      const got = counter.count(text);
      if (exact >= 0)
        assert.ok(Math.abs(got - exact) <= exact / 100, `${text.slice(0, 3)}…: ${got} vs ${exact}`);
      assert.ok(got > 0 && got <= Buffer.byteLength(text), `${got}`);
    }
    // below the slicing threshold the count stays exact
    const run = 'x'.repeat(MAX_PIECE_CHARS - 1);
    assert.equal(counter.count(`a ${run} b`), tiktoken.encode(`a ${run} b`, [], []).length);
  });

  it('counts small texts inline, not on the worker', async () => {
    const before = counter.workerJobs;
    assert.equal(await counter.countAsync('Hello, world!'), 4);
    assert.equal(
      await counter.countAsync('x'.repeat(WORKER_THRESHOLD_CHARS)),
      counter.count('x'.repeat(WORKER_THRESHOLD_CHARS)),
    );
    assert.equal(counter.workerJobs, before);
  });

  it('counts a 1 MB text on the worker, with the same result, while the event loop stays free', async () => {
    const big = longText()
      .repeat(8)
      .slice(0, 1024 * 1024);
    const want = counter.count(big);
    const jobs = counter.workerJobs;
    let ticked = false;
    const timer = setTimeout(() => {
      ticked = true;
    }, 1);
    const got = await counter.countAsync(big);
    clearTimeout(timer);
    assert.equal(got, want);
    assert.equal(counter.workerJobs, jobs + 1);
    assert.ok(ticked, 'a 1 ms timer fired while the worker counted');
    // concurrent jobs are matched to their answers
    const [a, b] = await Promise.all([counter.countAsync(big), counter.countAsync(big.slice(0, 500_000))]);
    assert.deepEqual([a, b], [want, counter.count(big.slice(0, 500_000))]);
  });

  it('counts inline after close', async () => {
    const c = await createTokenCounter({ workerThresholdChars: 10 });
    assert.equal(await c.countAsync('Hello, world! Hello, world!'), 8);
    assert.equal(c.workerJobs, 1);
    await c.close();
    assert.equal(await c.countAsync('Hello, world! Hello, world!'), 8);
    assert.equal(c.workerJobs, 1);
  });
});

describe('token counter (fallback)', () => {
  it('counts UTF-8 bytes / 4, at least 1 for non-empty text', async () => {
    const c = await createTokenCounter({ forceFallback: true });
    assert.equal(c.mode, 'fallback');
    assert.equal(c.count(''), 0);
    assert.equal(c.count('Hi'), 1);
    assert.equal(c.count('Hello, world!'), 3); // 13 bytes
    assert.equal(c.count('東京'), 1); // 6 bytes
    assert.equal(c.count('a'.repeat(100)), 25);
    assert.equal(await c.countAsync('a'.repeat(100_000)), 25_000);
    assert.equal(c.workerJobs, 0);
    assert.equal(countByBytes('🎉🎉'), 2); // 8 bytes
    await c.close();
  });
});
