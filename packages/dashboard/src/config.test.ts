import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ConfigError,
  defaultWebDist,
  loadConfig,
  parseDuration,
  parseListenAddr,
  parseTargets,
} from './config.ts';

describe('dashboard config', () => {
  test('defaults: :8081 (the original :8080 collides with the proxy), the local proxy as target', () => {
    const c = loadConfig({});
    assert.deepEqual(c.LISTEN_ADDR, { host: '0.0.0.0', port: 8081 });
    assert.deepEqual(c.SCRAPE_TARGETS, [{ name: 'local', url: 'http://127.0.0.1:8080/metrics' }]);
    assert.equal(c.SCRAPE_INTERVAL, 5_000);
    assert.equal(c.SCRAPE_TIMEOUT, 3_000);
    assert.equal(c.RETENTION_5S, 86_400_000);
    assert.equal(c.RETENTION_1M, 604_800_000);
    assert.equal(c.REPORT_TIMEZONE, 'UTC');
    assert.equal(c.CANARY_MIN_SAMPLE, 50);
    assert.equal(c.PROMETHEUS_URL, undefined);
    assert.equal(c.DASHBOARD_TOKEN, undefined);
    assert.ok(c.WEB_DIST.endsWith('packages/web/dist'));
    assert.ok(Object.isFrozen(c));
  });

  test('the web UI build is found beside the bundle (dist/web) before the source tree (packages/web/dist)', () => {
    const root = mkdtempSync(join(tmpdir(), 'web-dist-'));
    try {
      const bundle = pathToFileURL(join(root, 'dist', 'dashboard', 'main.js'));
      const source = pathToFileURL(join(root, 'packages', 'dashboard', 'src', 'config.ts'));
      // Nothing built: the source location, named by the "not built" page.
      assert.equal(defaultWebDist(source), join(root, 'packages', 'web', 'dist'));
      mkdirSync(join(root, 'packages', 'web', 'dist'), { recursive: true });
      writeFileSync(join(root, 'packages', 'web', 'dist', 'index.html'), '<!doctype html>');
      assert.equal(defaultWebDist(source), join(root, 'packages', 'web', 'dist'));
      mkdirSync(join(root, 'dist', 'web'), { recursive: true });
      assert.equal(defaultWebDist(bundle), join(root, 'web', 'dist'), 'an empty dist/web is not a build');
      writeFileSync(join(root, 'dist', 'web', 'index.html'), '<!doctype html>');
      assert.equal(defaultWebDist(bundle), join(root, 'dist', 'web'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('targets: name=url entries and plain URLs, blanks skipped, names from host:port', () => {
    assert.deepEqual(parseTargets(' production=http://a:8080/metrics , ,http://b:9/metrics,'), [
      { name: 'production', url: 'http://a:8080/metrics' },
      { name: 'b:9', url: 'http://b:9/metrics' },
    ]);
    assert.throws(() => parseTargets('x=ftp://a'), /http/);
    assert.throws(() => parseTargets('a=http://x/m,a=http://y/m'), /duplicate/);
    assert.throws(() => parseTargets(' , '), /at least one/);
    // A URL with '=' in its query is a plain URL, not name=url.
    assert.equal(parseTargets('http://h/metrics?a=b')[0]!.name, 'h');
  });

  test('listen address forms', () => {
    assert.deepEqual(parseListenAddr(':8081'), { host: '0.0.0.0', port: 8081 });
    assert.deepEqual(parseListenAddr('127.0.0.1:9'), { host: '127.0.0.1', port: 9 });
    assert.deepEqual(parseListenAddr('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseListenAddr('8081'), { host: '0.0.0.0', port: 8081 });
    assert.equal(parseListenAddr(':99999'), null);
    assert.equal(parseListenAddr('host'), null);
  });

  test('durations take d as well (7d), and bare seconds', () => {
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0.5'), 500);
    assert.equal(parseDuration('-5s'), null);
    assert.equal(parseDuration('5 s'), null);
  });

  test('a zero scrape interval is an error (it made the original panic), as is every other bad value, all named', () => {
    try {
      loadConfig({
        SCRAPE_INTERVAL: '0s',
        LISTEN_ADDR: 'nope',
        SCRAPE_TARGETS: 'ftp://x',
        REPORT_TIMEZONE: 'Mars/Olympus',
        DASHBOARD_TOKEN: 'short',
        CANARY_MIN_SAMPLE: '0',
        PROMETHEUS_URL: 'localhost:9090',
      });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.variables.sort(), [
        'CANARY_MIN_SAMPLE',
        'DASHBOARD_TOKEN',
        'LISTEN_ADDR',
        'PROMETHEUS_URL',
        'REPORT_TIMEZONE',
        'SCRAPE_INTERVAL',
        'SCRAPE_TARGETS',
      ]);
    }
  });

  test('raw retention longer than rollup retention is refused', () => {
    assert.throws(() => loadConfig({ RETENTION_5S: '8d' }), /RETENTION_1M/);
  });
});
