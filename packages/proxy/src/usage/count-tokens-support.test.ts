import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountTokensSupport } from './count-tokens-support.ts';

const A = 'http://a.example';
const B = 'http://b.example';
const HOUR = 3_600_000;

test('a 404/405/501 is remembered per upstream until the memory expires, then asked again', () => {
  const s = new CountTokensSupport(HOUR);
  assert.equal(s.knownUnsupported(A, 0), false);
  s.record(A, 404, 1000);
  assert.equal(s.knownUnsupported(A, 1000), true);
  assert.equal(s.knownUnsupported(A, 1000 + HOUR - 1), true);
  assert.equal(s.knownUnsupported(B, 1000), false, 'another upstream is not affected');
  assert.equal(s.knownUnsupported(A, 1000 + HOUR), false, 'expired: ask again');
  for (const status of [405, 501]) {
    s.record(B, status, 0);
    assert.equal(s.knownUnsupported(B, 1), true, String(status));
    s.record(B, 200, 2);
    assert.equal(s.knownUnsupported(B, 3), false, 'a 2xx clears it');
  }
});

test('other failures say nothing about support; a zero memory remembers nothing', () => {
  const s = new CountTokensSupport(HOUR);
  for (const status of [400, 429, 500, 503, 529]) s.record(A, status, 0);
  assert.equal(s.knownUnsupported(A, 1), false);
  const off = new CountTokensSupport(0);
  off.record(A, 404, 0);
  assert.equal(off.knownUnsupported(A, 0), false);
});
