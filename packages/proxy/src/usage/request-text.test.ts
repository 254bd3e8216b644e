import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  estimateInputTokens,
  requestText,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_REQUEST,
  TOKENS_PER_TOOL,
} from './request-text.ts';
import { createTokenCounter } from './tokenizer.ts';

const SCHEMA = { type: 'object', properties: { city: { type: 'string' } } };

const ANTHROPIC = {
  model: 'claude-sonnet-4-5',
  system: [{ type: 'text', text: 'SYS-BLOCK', cache_control: { type: 'ephemeral' } }],
  tools: [{ name: 'get_weather', description: 'TOOL-DESC', input_schema: SCHEMA }],
  messages: [
    { role: 'user', content: 'USER-STRING' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'THINKING', signature: 'sig' },
        { type: 'text', text: 'ASSISTANT-TEXT' },
        { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'PARIS' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: 'RESULT-STRING' },
        { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'RESULT-BLOCK' }] },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'DOC-TEXT' } },
      ],
    },
  ],
};

describe('requestText', () => {
  it('covers Anthropic system blocks, tools, text, thinking, tool_use, tool_result and documents', () => {
    const text = requestText('anthropic', ANTHROPIC);
    for (const want of [
      'SYS-BLOCK',
      'get_weather',
      'TOOL-DESC',
      JSON.stringify(SCHEMA),
      'USER-STRING',
      'THINKING',
      'ASSISTANT-TEXT',
      '{"city":"PARIS"}',
      'RESULT-STRING',
      'RESULT-BLOCK',
      'DOC-TEXT',
    ]) {
      assert.ok(text.includes(want), `missing ${want}`);
    }
    assert.ok(!text.includes('AAAA'), 'image data is not text');
    assert.ok(!text.includes('claude-sonnet'), 'the model name is not sent to the model');
  });

  it('covers an Anthropic system string', () => {
    assert.equal(
      requestText('anthropic', { system: 'SYS', messages: [{ role: 'user', content: 'hi' }] }),
      'SYS\nhi',
    );
  });

  it('covers OpenAI content strings and parts, names, tool_calls, tools and legacy functions', () => {
    const text = requestText('openai', {
      messages: [
        { role: 'system', content: 'SYS' },
        {
          role: 'user',
          name: 'NAME',
          content: [
            { type: 'text', text: 'PART' },
            { type: 'image_url', image_url: { url: 'URL' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'FN', arguments: '{"ARG":1}' } }],
        },
        { role: 'tool', tool_call_id: 'c', content: 'TOOL-OUT' },
        { role: 'assistant', function_call: { name: 'OLD-FN', arguments: 'OLD-ARGS' } },
      ],
      tools: [{ type: 'function', function: { name: 'T', description: 'T-DESC', parameters: SCHEMA } }],
      functions: [{ name: 'F', description: 'F-DESC', parameters: { type: 'object' } }],
    });
    for (const want of [
      'SYS',
      'NAME',
      'PART',
      'FN',
      '{"ARG":1}',
      'TOOL-OUT',
      'OLD-FN',
      'OLD-ARGS',
      'T-DESC',
      JSON.stringify(SCHEMA),
      'F-DESC',
    ]) {
      assert.ok(text.includes(want), `missing ${want}`);
    }
    assert.ok(!text.includes('URL'));
  });

  it('returns an empty string for non-objects and odd shapes', () => {
    assert.equal(requestText('anthropic', null), '');
    assert.equal(requestText('openai', [1, 2]), '');
    assert.equal(requestText('anthropic', { messages: [null, 3, { content: 7 }], tools: 'x' }), '');
  });
});

describe('estimateInputTokens', () => {
  it('adds the documented per-message, per-tool and per-request overheads', async () => {
    const counter = await createTokenCounter();
    const text = counter.count(requestText('anthropic', ANTHROPIC));
    const want = text + TOKENS_PER_MESSAGE * (3 + 1) + TOKENS_PER_TOOL * 1 + TOKENS_PER_REQUEST;
    assert.equal(await estimateInputTokens(counter, 'anthropic', ANTHROPIC), want);
    assert.equal(await estimateInputTokens(counter, 'openai', 'not an object'), 0);
    const chat = { messages: [{ role: 'user', content: 'Hello, world!' }] };
    assert.equal(
      await estimateInputTokens(counter, 'openai', chat),
      4 + TOKENS_PER_MESSAGE + TOKENS_PER_REQUEST,
    );
    await counter.close();
  });
});
