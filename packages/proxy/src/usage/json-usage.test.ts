import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addUsage, extractJsonUsage } from './json-usage.ts';

const USAGE = { input: 10, output: 5, cache_read: 3, cache_write: 2 };
const ANTHROPIC_MEMBER =
  '"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":3,"cache_creation_input_tokens":2}';

describe('extractJsonUsage', () => {
  it('reads Anthropic usage and the generated text', () => {
    const body = Buffer.from(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        content: [
          { type: 'thinking', thinking: 'hmm' },
          { type: 'text', text: 'Hello' },
          { type: 'tool_use', id: 't', name: 'get', input: { a: 1 } },
        ],
        usage: {
          input_tokens: 12,
          output_tokens: 7,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: null,
        },
      }),
    );
    assert.deepEqual(extractJsonUsage('anthropic', body), {
      usage: { input: 12, output: 7, cache_read: 100, cache_write: 0 },
      outputText: 'hmm\nHello\nget\n{"a":1}',
      hasUsageKey: true,
      isObject: true,
    });
  });

  it('subtracts OpenAI cached tokens from input', () => {
    const body = Buffer.from(
      JSON.stringify({
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_content: 'r' } }],
        usage: {
          prompt_tokens: 100,
          completion_tokens: 9,
          total_tokens: 109,
          prompt_tokens_details: { cached_tokens: 40 },
        },
      }),
    );
    assert.deepEqual(extractJsonUsage('openai', body), {
      usage: { input: 60, output: 9, cache_read: 40, cache_write: 0 },
      outputText: 'Hi\nr',
      hasUsageKey: true,
      isObject: true,
    });
  });

  it('reports absent usage, non-objects and junk', () => {
    assert.deepEqual(extractJsonUsage('anthropic', Buffer.from('{"content":[]}')), {
      usage: null,
      outputText: null,
      hasUsageKey: false,
      isObject: true,
    });
    assert.equal(extractJsonUsage('openai', Buffer.from('{"usage":null}')).hasUsageKey, true);
    assert.equal(extractJsonUsage('openai', Buffer.from('{"usage":null}')).usage, null);
    for (const junk of ['', '[1,2]', '"s"', 'null', '{"a":', 'data: {}\n\n', '  42 ']) {
      assert.deepEqual(extractJsonUsage('anthropic', Buffer.from(junk)), {
        usage: null,
        outputText: null,
        hasUsageKey: false,
        isObject: false,
      });
    }
  });
});

describe('addUsage', () => {
  it('splices the member before the final brace, every other byte identical', () => {
    const text = '{\n  "id": "msg_1",\n  "content": [{"type":"text","text":"}"}]\n}\n\n';
    const out = addUsage('anthropic', Buffer.from(text), USAGE).toString();
    const at = text.lastIndexOf('}');
    assert.equal(out, `${text.slice(0, at)},${ANTHROPIC_MEMBER}${text.slice(at)}`);
    assert.deepEqual(JSON.parse(out).usage, {
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 3,
      cache_creation_input_tokens: 2,
    });
  });

  it('adds no comma to an empty object', () => {
    assert.equal(addUsage('anthropic', Buffer.from('{}'), USAGE).toString(), `{${ANTHROPIC_MEMBER}}`);
    assert.equal(
      addUsage('anthropic', Buffer.from(' { \t} \r\n'), USAGE).toString(),
      ` { \t${ANTHROPIC_MEMBER}} \r\n`,
    );
  });

  it('writes the OpenAI form with cached tokens counted in prompt_tokens', () => {
    const out = addUsage('openai', Buffer.from('{"id":"x"}'), USAGE).toString();
    assert.equal(out, '{"id":"x","usage":{"prompt_tokens":15,"completion_tokens":5,"total_tokens":20}}');
  });

  it('keeps the multi-byte text intact', () => {
    const text = '{"text":"東京 🎉"}';
    const out = addUsage('openai', Buffer.from(text), USAGE);
    assert.equal(JSON.parse(out.toString()).text, '東京 🎉');
  });

  it('returns the original buffer for non-objects and bodies that already have usage', () => {
    for (const t of [
      '',
      '[]',
      '"x"',
      '{"a":',
      'not json',
      '{"usage":{"input_tokens":1}}',
      '{"usage":null}',
    ]) {
      const b = Buffer.from(t);
      assert.equal(addUsage('anthropic', b, USAGE), b);
    }
  });

  it('writes only whole, non-negative numbers', () => {
    const out = addUsage('anthropic', Buffer.from('{}'), {
      input: 1.6,
      output: -3,
      cache_read: Number.NaN,
      cache_write: 0,
    });
    assert.deepEqual(JSON.parse(out.toString()).usage, {
      input_tokens: 2,
      output_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
  });
});
