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

  test("admission: the original's rate-limit defaults, a raised MAX_WORKERS, limits cross-checked", () => {
    const c = loadConfig({});
    assert.equal(c.MAX_WORKERS, 256);
    assert.equal(c.MAX_QUEUE_WAIT, 60_000);
    assert.deepEqual(
      [
        c.RATE_LIMIT_INITIAL,
        c.RATE_LIMIT_MIN,
        c.RATE_LIMIT_MAX,
        c.RATE_LIMIT_CEILING_ALPHA,
        c.RATE_LIMIT_HOLD_MARGIN,
      ],
      [10, 1, 50, 0.3, 0.02],
    );
    assert.equal(c.RATE_LIMIT_PROBE_INTERVAL, 10);
    assert.equal(c.RATE_LIMIT_STATE_MAX_AGE, 6 * 3_600_000);
    // One state file per instance: two proxies on one host (different ports) never share one,
    // whether the variable is unset or empty; PORT=0 names no instance, so memory only.
    const stateFile = (env: Record<string, string>) => loadConfig(env).RATE_LIMIT_STATE_FILE;
    assert.equal(stateFile({}), '/tmp/zai-proxy/admission-state-8080.json');
    assert.notEqual(stateFile({ PORT: '8081' }), stateFile({ PORT: '8082' }));
    assert.equal(
      stateFile({ PORT: '8081', RATE_LIMIT_STATE_FILE: '' }),
      '/tmp/zai-proxy/admission-state-8081.json',
    );
    assert.equal(stateFile({ PORT: '8081', RATE_LIMIT_STATE_FILE: '/var/lib/s.json' }), '/var/lib/s.json');
    assert.equal(stateFile({ PORT: '0' }), null);
    assert.equal(loadConfig({ RATE_LIMIT_STATE_MAX_AGE: '30m' }).RATE_LIMIT_STATE_MAX_AGE, 1_800_000);
    assert.equal(loadConfig({ RATE_LIMIT_CEILING_ALPHA: '1.0' }).RATE_LIMIT_CEILING_ALPHA, 1);
    const bad: [string, string][] = [
      ['RATE_LIMIT_CEILING_ALPHA', '0'],
      ['RATE_LIMIT_CEILING_ALPHA', '1.5'],
      ['RATE_LIMIT_HOLD_MARGIN', '1'],
      ['RATE_LIMIT_HOLD_MARGIN', '0'],
      ['RATE_LIMIT_PROBE_INTERVAL', '5.5'],
      ['RATE_LIMIT_STATE_MAX_AGE', 'not-a-duration'],
      ['CONCURRENCY_BACKOFF', '1'],
      ['REDIS_URL', 'http://x'],
      ['ADMIN_TOKEN', 'short'],
    ];
    for (const [k, v] of bad)
      assert.throws(
        () => loadConfig({ [k]: v }),
        (e: unknown) => e instanceof ConfigError && e.variables.includes(k),
        `${k}=${v}`,
      );
    for (const env of [{ RATE_LIMIT_MIN: '20' }, { RATE_LIMIT_MAX: '5' }, { CONCURRENCY_INITIAL: '100' }])
      assert.throws(() => loadConfig(env), /must lie within/);
  });
});
