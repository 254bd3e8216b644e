// Tests of retry-after: the Retry-After header forms and the retry-after-ms preference.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRetryAfterHeader, retryAfterFromHeaders } from './retry-after.ts';

describe('parseRetryAfterHeader', () => {
  const NOW = Date.UTC(1994, 10, 6, 8, 49, 27); // 10 s before the RFC 9110 example date
  const rows: [string, string | string[] | undefined, number | null][] = [
    ['integer seconds', '3', 3000],
    ['padded', ' 3 ', 3000],
    ['zero', '0', 0],
    ['decimal', '1.5', 1500],
    ['tiny decimal rounds up', '0.0001', 1],
    ['large', '3600', 3_600_000],
    ['negative', '-1', null],
    ['plus sign', '+5', null],
    ['exponent', '1e3', null],
    ['garbage', 'soon', null],
    ['prose with a year', 'hello 2020', null],
    ['ISO 8601 is not an HTTP-date', '1994-11-06T08:49:37Z', null],
    ['empty', '', null],
    ['absent', undefined, null],
    ['array: first wins', ['5', '9'], 5000],
    ['empty array', [], null],
    ['IMF-fixdate in the future', 'Sun, 06 Nov 1994 08:49:37 GMT', 10_000],
    ['IMF-fixdate in the past', 'Sun, 06 Nov 1994 08:49:17 GMT', 0],
    ['IMF-fixdate with a one-digit day', 'Sun, 6 Nov 1994 08:49:37 GMT', 10_000],
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT', 10_000],
    ['asctime is GMT', 'Sun Nov  6 08:49:37 1994', 10_000],
    ['bad month', 'Sun, 06 Foo 1994 08:49:37 GMT', null],
    ['missing GMT', 'Sun, 06 Nov 1994 08:49:37', null],
  ];
  for (const [name, value, want] of rows) {
    test(name, () => assert.equal(parseRetryAfterHeader(value, NOW), want));
  }
  test('a date computed from now', () => {
    const now = Date.UTC(2026, 8, 6, 0, 0, 0);
    assert.equal(parseRetryAfterHeader(new Date(now + 42_000).toUTCString(), now), 42_000);
  });
});

describe('retryAfterFromHeaders', () => {
  const NOW = Date.UTC(2026, 8, 6);
  const rows: [string, Record<string, string | string[] | undefined>, number | null][] = [
    ['retry-after-ms preferred', { 'retry-after-ms': '1500', 'retry-after': '3' }, 1500],
    ['fractional ms rounds up', { 'retry-after-ms': '12.4' }, 13],
    ['array ms', { 'retry-after-ms': ['250', '900'] }, 250],
    ['invalid ms falls back', { 'retry-after-ms': 'garbage', 'retry-after': '3' }, 3000],
    ['negative ms falls back', { 'retry-after-ms': '-5', 'retry-after': '2' }, 2000],
    ['retry-after only', { 'retry-after': '3' }, 3000],
    ['names are case-insensitive', { 'Retry-After': '4', 'Retry-After-Ms': '700' }, 700],
    ['undefined values', { 'retry-after': undefined, 'retry-after-ms': undefined }, null],
    ['none', { 'content-type': 'application/json' }, null],
  ];
  for (const [name, headers, want] of rows) {
    test(name, () => assert.equal(retryAfterFromHeaders(headers, NOW), want));
  }
});
