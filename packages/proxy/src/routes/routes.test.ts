import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRouteTable, joinUrl } from './index.ts';

describe('route table', () => {
  test('URL joining never doubles a prefix or a slash', () => {
    assert.deepEqual(joinUrl('https://api.z.ai/api/anthropic', '/v1/messages'), {
      origin: 'https://api.z.ai',
      path: '/api/anthropic/v1/messages',
    });
    assert.deepEqual(joinUrl('https://api.z.ai/api/anthropic/', '/v1/messages'), {
      origin: 'https://api.z.ai',
      path: '/api/anthropic/v1/messages',
    });
    assert.deepEqual(joinUrl('http://127.0.0.1:9090', '/v1/messages'), {
      origin: 'http://127.0.0.1:9090',
      path: '/v1/messages',
    });
    assert.deepEqual(joinUrl('https://api.z.ai/api/coding/paas/v4', '/chat/completions'), {
      origin: 'https://api.z.ai',
      path: '/api/coding/paas/v4/chat/completions',
    });
  });

  const t = createRouteTable({
    ZAI_TARGET_URL: 'https://api.z.ai/api/anthropic',
    ZAI_OPENAI_TARGET_URL: 'https://api.z.ai/api/paas/v4',
  });

  test('canonical and alias paths resolve to the same route and label', () => {
    for (const [path, label, up] of [
      ['/v1/messages', '/v1/messages', '/api/anthropic/v1/messages'],
      ['/api/anthropic/v1/messages', '/v1/messages', '/api/anthropic/v1/messages'],
      ['/v1/messages/count_tokens', '/v1/messages/count_tokens', '/api/anthropic/v1/messages/count_tokens'],
      [
        '/api/anthropic/v1/messages/count_tokens',
        '/v1/messages/count_tokens',
        '/api/anthropic/v1/messages/count_tokens',
      ],
      ['/v1/chat/completions', '/v1/chat/completions', '/api/paas/v4/chat/completions'],
      ['/api/paas/v4/chat/completions', '/v1/chat/completions', '/api/paas/v4/chat/completions'],
      ['/v1/models', '/v1/models', '/api/paas/v4/models'],
      ['/api/paas/v4/models', '/v1/models', '/api/paas/v4/models'],
      ['/v1/messages/', '/v1/messages', '/api/anthropic/v1/messages'],
    ]) {
      const r = t.match(path!);
      assert.ok(r, path);
      assert.equal(r.label, label);
      assert.equal(r.upstreamPath, up);
    }
  });

  test('unknown paths do not match and get the envelope of their family', () => {
    assert.equal(t.match('/v1/complete'), undefined);
    assert.equal(t.match('/api/anthropic/api/anthropic/v1/messages'), undefined);
    assert.equal(t.familyOf('/v1/chat/x').family, 'openai');
    assert.equal(t.familyOf('/api/paas/v4/embeddings').family, 'openai');
    assert.equal(t.familyOf('/v1/whatever').family, 'anthropic');
  });
});
