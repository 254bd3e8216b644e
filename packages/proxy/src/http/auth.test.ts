import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { ConfigError } from '../config.ts';
import { createAuth, parseClientKeys } from './auth.ts';

const req = (headers: Record<string, string>, remoteAddress = '10.0.0.7') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('client keys and identity', () => {
  test('`name:key` entries are named; plain ones by position', () => {
    assert.deepEqual(parseClientKeys(['alice:k1', 'k2', 'ci.bot-2:k:3']), [
      { name: 'alice', key: 'k1' },
      { name: 'key-2', key: 'k2' },
      { name: 'ci.bot-2', key: 'k:3' },
    ]);
  });

  test('a repeated name or key is a config error naming PROXY_API_KEYS', () => {
    for (const entries of [
      ['a:k1', 'a:k2'],
      ['a:k1', 'b:k1'],
    ]) {
      assert.throws(
        () => parseClientKeys(entries),
        (e: unknown) => e instanceof ConfigError && e.variables[0] === 'PROXY_API_KEYS',
      );
    }
  });

  test('with client keys: the matching key names the caller; anything else is refused', () => {
    const auth = createAuth({ PROXY_API_KEYS: ['alice:k1', 'k2'], ZAI_API_KEY: 'z' });
    assert.deepEqual(auth.authenticate(req({ 'x-api-key': 'k1' })), { kind: 'key', name: 'alice' });
    assert.deepEqual(auth.authenticate(req({ authorization: 'Bearer k2' })), { kind: 'key', name: 'key-2' });
    assert.equal(auth.authenticate(req({ 'x-api-key': 'alice:k1' })), null);
    assert.equal(auth.authenticate(req({})), null);
  });

  test('pass-through: a short digest of the presented key, the same for either header', () => {
    const auth = createAuth({ PROXY_API_KEYS: [], ZAI_API_KEY: undefined });
    const a = auth.authenticate(req({ 'x-api-key': 'secret-key' }))!;
    assert.equal(a.kind, 'passthrough');
    assert.match(a.name, /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual(auth.authenticate(req({ authorization: 'Bearer secret-key' })), a);
    assert.notDeepEqual(auth.authenticate(req({ 'x-api-key': 'other' })), a);
    assert.deepEqual(auth.authenticate(req({})), { kind: 'peer', name: '10.0.0.7' }, 'no key: the address');
  });

  test("the proxy's own key and no client keys: the peer address", () => {
    const auth = createAuth({ PROXY_API_KEYS: [], ZAI_API_KEY: 'z' });
    assert.deepEqual(auth.authenticate(req({ 'x-api-key': 'whatever' }, '::1')), {
      kind: 'peer',
      name: '::1',
    });
  });

  test('peers are told apart by the Claude Code session id, else by a trusted X-Forwarded-For, else the address', () => {
    const plain = createAuth({ PROXY_API_KEYS: [], ZAI_API_KEY: 'z' });
    assert.deepEqual(plain.authenticate(req({ 'x-claude-code-session-id': 'abc-123' }, '::1')), {
      kind: 'peer',
      name: 'session:abc-123',
    });
    assert.equal(plain.authenticate(req({ 'x-claude-code-session-id': 'bad id!' }, '::1'))!.name, '::1');
    assert.equal(
      plain.authenticate(req({ 'x-forwarded-for': '1.2.3.4' }, '::1'))!.name,
      '::1',
      'not trusted',
    );
    const behind = createAuth({ PROXY_API_KEYS: [], ZAI_API_KEY: 'z', TRUST_FORWARDED_FOR: true });
    assert.equal(
      behind.authenticate(req({ 'x-forwarded-for': '1.2.3.4, 10.0.0.1' }, '::1'))!.name,
      '1.2.3.4',
    );
  });
});
