import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseDuration } from './config.ts';

describe('config', () => {
  test('defaults are the original contract', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.ZAI_TARGET_URL, 'https://api.z.ai/api/anthropic');
    assert.equal(c.ZAI_OPENAI_TARGET_URL, 'https://api.z.ai/api/paas/v4');
    assert.equal(c.MAX_RETRIES, 3);
    assert.equal(c.TOKEN_COUNTING_ENABLED, true);
    assert.equal(c.TOKENIZER_MODEL, 'glm-4');
    assert.equal(c.DEPLOYMENT_VARIANT, 'production');
    assert.equal(c.ZAI_API_KEY, undefined);
    assert.ok(Object.isFrozen(c));
  });

  test('empty means default; values are parsed', () => {
    const c = loadConfig({
      PORT: '',
      MAX_RETRIES: '0',
      UPSTREAM_IDLE_TIMEOUT: '1m30s',
      SHUTDOWN_TIMEOUT: '5',
      PROXY_API_KEYS: ' a, b ,,',
      ZAI_API_KEY: 'k',
    });
    assert.equal(c.PORT, 8080);
    assert.equal(c.MAX_RETRIES, 0);
    assert.equal(c.UPSTREAM_IDLE_TIMEOUT, 90_000);
    assert.equal(c.SHUTDOWN_TIMEOUT, 5_000);
    assert.deepEqual(c.PROXY_API_KEYS, ['a', 'b']);
  });

  test('booleans are strict: FALSE and off mean false, garbage is an error (the original read both as true)', () => {
    assert.equal(loadConfig({ TOKEN_COUNTING_ENABLED: 'FALSE' }).TOKEN_COUNTING_ENABLED, false);
    assert.equal(loadConfig({ TOKEN_COUNTING_ENABLED: 'off' }).TOKEN_COUNTING_ENABLED, false);
    assert.equal(loadConfig({ TOKEN_COUNTING_ENABLED: 'Yes' }).TOKEN_COUNTING_ENABLED, true);
    assert.throws(() => loadConfig({ TOKEN_COUNTING_ENABLED: 'disabled' }), /TOKEN_COUNTING_ENABLED/);
  });

  test('every invalid variable is named in one error', () => {
    try {
      loadConfig({
        PORT: '99999',
        MAX_RETRIES: 'x',
        ZAI_TARGET_URL: 'ftp://nope',
        UPSTREAM_CONNECT_TIMEOUT: '10 parsecs',
        PRICING_PEAK_START: '25:00',
        PRICING_TIMEZONE: 'Mars/Olympus',
        LOG_LEVEL: 'loud',
      });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.deepEqual([...e.variables].sort(), [
        'LOG_LEVEL',
        'MAX_RETRIES',
        'PORT',
        'PRICING_PEAK_START',
        'PRICING_TIMEZONE',
        'UPSTREAM_CONNECT_TIMEOUT',
        'ZAI_TARGET_URL',
      ]);
    }
  });

  test('PROXY_API_KEYS without ZAI_API_KEY is refused: there would be no key to send upstream', () => {
    assert.throws(
      () => loadConfig({ PROXY_API_KEYS: 'a' }),
      (e: unknown) => e instanceof ConfigError && e.variables[0] === 'PROXY_API_KEYS',
    );
  });

  test('Go durations', () => {
    assert.equal(parseDuration('300ms'), 300);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2'), 2000);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('5 s'), null);
    assert.equal(parseDuration('s'), null);
    assert.equal(parseDuration(''), null);
  });
});
