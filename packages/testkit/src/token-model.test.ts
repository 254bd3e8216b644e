import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { startSimUpstream } from './index.ts';
import { probe, received } from './test-client.ts';
import { bytesInputTokens, GLM_TOKEN_RATIO, GLM_TOKENS_PER_MESSAGE, glmInputTokens } from './token-model.ts';

const BODY = {
  model: 'glm-4.6',
  system: [{ type: 'text', text: 'You are a careful coding assistant.' }],
  messages: [
    { role: 'user', content: 'Read the config.' },
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.json' } }],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"port": 8080}' }] },
  ],
  tools: [{ name: 'read_file', description: 'Reads a file.', input_schema: { type: 'object' } }],
};

test('glm model: 1.27 × cl100k of the text the model reads, plus template tokens per message and tool', () => {
  const text = [
    'You are a careful coding assistant.',
    'Read the config.',
    'read_file',
    '{"path":"a.json"}',
    '{"port": 8080}',
    JSON.stringify(BODY.tools[0]),
  ].join('\n');
  // 3 messages + the system prompt + 1 tool are framed
  const want = Math.round(GLM_TOKEN_RATIO * countTokens(text)) + GLM_TOKENS_PER_MESSAGE * 5;
  assert.equal(glmInputTokens(BODY), want);
  assert.equal(glmInputTokens(null), 0);
  assert.equal(glmInputTokens({ messages: [] }), 0);
});

test('the sim charges input by its token model, in usage and in count_tokens', async () => {
  const glm = await startSimUpstream({ tokenModel: 'glm' });
  const bytes = await startSimUpstream();
  try {
    for (const [sim, want] of [
      [glm, glmInputTokens(BODY)],
      [bytes, bytesInputTokens(BODY)],
    ] as const) {
      for (const path of ['/api/anthropic/v1/messages/count_tokens', '/api/anthropic/v1/messages']) {
        const p = probe(sim.url, path, { headers: { 'x-api-key': 'k' }, body: BODY });
        await p.done;
        const j = JSON.parse(received(p).toString('utf8'));
        assert.equal(j.input_tokens ?? j.usage.input_tokens, want, path);
      }
    }
    assert.notEqual(glmInputTokens(BODY), bytesInputTokens(BODY));
  } finally {
    await glm.close();
    await bytes.close();
  }
  await assert.rejects(startSimUpstream({ tokenModel: 'gpt' as never }), /tokenModel/);
});
