import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startupBanner } from './banner.ts';
import { loadConfig } from './config.ts';

const msgs = (env: Record<string, string>, address = '0.0.0.0') =>
  startupBanner(loadConfig(env), { address, port: 8080 }, 'enabled').map((l) => l.msg);

test('a wildcard listen address gives loopback base URLs to export, in both forms', () => {
  assert.equal(
    msgs({ ZAI_API_KEY: 'k' })[0],
    'Clients: export ANTHROPIC_BASE_URL=http://127.0.0.1:8080 OPENAI_BASE_URL=http://127.0.0.1:8080/v1; ANTHROPIC_AUTH_TOKEN / OPENAI_API_KEY: any value (the proxy sends its own Z.AI key)',
  );
  assert.match(msgs({ ZAI_API_KEY: 'k' }, '::1')[0]!, /http:\/\/\[::1\]:8080 /);
});

test('both upstream bases and the key mode', () => {
  const own = msgs({ ZAI_API_KEY: 'k', ZAI_OPENAI_TARGET_URL: 'https://api.z.ai/api/coding/paas/v4' });
  assert.equal(
    own[1],
    'Forwarding Anthropic to https://api.z.ai/api/anthropic and OpenAI to https://api.z.ai/api/coding/paas/v4',
  );
  assert.equal(own[2], 'Key mode: own-key; token counting: enabled; access log: on');
  const pass = msgs({ ACCESS_LOG: 'false' });
  assert.match(pass[0]!, /your own Z\.AI key \(it is forwarded as is\)$/);
  assert.equal(pass[2], 'Key mode: pass-through; token counting: enabled; access log: off');
  const keys = msgs({ ZAI_API_KEY: 'k', PROXY_API_KEYS: 'a:x1,b:x2' });
  assert.match(keys[0]!, /one of PROXY_API_KEYS$/);
  assert.match(keys[2]!, /^Key mode: client-keys \(2 keys\)/);
  assert.ok(!keys.join('').includes('x1'), 'no key in the banner');
});
