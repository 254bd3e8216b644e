import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classifyZaiError,
  codeLabel,
  DEFAULT_ZAI_ERROR_BODY_BYTES,
  type ZaiError,
} from './zai-classifier.ts';

// 2026-09-06T00:00:00Z, and the same instant as a Beijing (UTC+8) wall-clock stamp.
const R = Date.UTC(2026, 8, 6, 0, 0, 0);
const R_SEC = R / 1000;
const R_BEIJING = '2026-09-06 08:00:00';
const HOUR = 3600_000;

interface Case {
  name: string;
  status?: number; // 429 unless given
  body: Buffer | string | null;
  maxBytes?: number;
  want: Partial<ZaiError>;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const want: Partial<ZaiError> = {
        class: 'unknown',
        code: null,
        resetAtMs: null,
        retryAfterSec: null,
        oversized: false,
        ...c.want,
      };
      // basis and quotaWindow are compared where a case names them.
      const got: Partial<ZaiError> = classifyZaiError(c.status ?? 429, c.body, c.maxBytes);
      const picked = Object.fromEntries(Object.keys(want).map((k) => [k, got[k as keyof ZaiError]]));
      assert.deepEqual(picked, want);
    });
  }
}

const json = (v: unknown): string => JSON.stringify(v);

describe('classifyZaiError: envelopes', () => {
  run([
    {
      name: 'nested error object with string code',
      body: json({ error: { code: '1302', message: 'High concurrency usage of this API' } }),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'flat numeric code with msg',
      body: json({ code: 1302, msg: 'busy' }),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'anthropic-style wrapper',
      body: json({ type: 'error', error: { type: 'rate_limit_error', code: '1303', message: 'x' } }),
      want: { class: 'frequency', code: '1303' },
    },
    {
      name: 'null error falls back to the top level',
      body: json({ error: null, code: '1305' }),
      want: { class: 'overloaded', code: '1305' },
    },
    {
      name: 'string error falls back to the top level',
      body: json({ error: 'rate limited', code: 1308 }),
      want: { class: 'quota', code: '1308' },
    },
    {
      name: 'array error is not an object: top level used',
      body: json({ error: [{ code: '1302' }], code: '1312' }),
      want: { class: 'model_congestion', code: '1312' },
    },
    {
      name: 'nested error wins over the top level',
      body: json({ error: { code: '1303' }, code: '1302' }),
      want: { class: 'frequency', code: '1303' },
    },
    {
      name: 'empty nested object: top level searched',
      body: json({ error: {}, code: '1310' }),
      want: { class: 'quota', code: '1310' },
    },
    {
      name: 'first present key wins: a nested null code hides the top-level code',
      body: json({ error: { code: null }, code: '1302' }),
      want: { class: 'unknown', code: null },
    },
    {
      name: 'escaped key names are decoded',
      body: '{"\\u0063ode":"1302"}',
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'duplicate keys: the last wins',
      body: '{"code":"1302","code":"1303"}',
      want: { class: 'frequency', code: '1303' },
    },
    {
      name: 'brackets and quotes inside strings do not confuse the walk',
      body: '{"message":"a \\"}\\" {[ ]","x":{"code":"1310"},"code":1302}',
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'deep nesting elsewhere in the body',
      body: `{"x":${'['.repeat(5000)}${']'.repeat(5000)},"code":"1302"}`,
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'whitespace around tokens',
      body: ' \n{ "error" : { "code" : 1312 , "message" : "busy" } }\n',
      want: { class: 'model_congestion', code: '1312' },
    },
  ]);
});

describe('classifyZaiError: codes', () => {
  run([
    {
      name: 'padded string code',
      body: json({ code: '  1302 ' }),
      want: { class: 'concurrency', code: '1302' },
    },
    { name: 'numeric code', body: '{"code":1303}', want: { class: 'frequency', code: '1303' } },
    { name: 'leading zero kept as is', body: json({ code: '01302' }), want: { code: '01302' } },
    { name: '8 digits kept', body: json({ code: '12345678' }), want: { code: '12345678' } },
    { name: '9-digit string dropped', body: json({ code: '123456789' }), want: {} },
    { name: '9-digit number dropped', body: '{"code":123456789}', want: {} },
    { name: 'negative string dropped', body: json({ code: '-1302' }), want: {} },
    { name: 'negative number dropped', body: '{"code":-1302}', want: {} },
    { name: 'plus sign dropped', body: json({ code: '+1302' }), want: {} },
    { name: 'decimal string dropped', body: json({ code: '1302.0' }), want: {} },
    { name: 'decimal number dropped', body: '{"code":1302.0}', want: {} },
    { name: 'exponent number dropped', body: '{"code":1.302e3}', want: {} },
    { name: 'exponent string dropped', body: json({ code: '1e3' }), want: {} },
    { name: 'empty string dropped', body: json({ code: '' }), want: {} },
    { name: 'boolean dropped', body: '{"code":true}', want: {} },
    { name: 'object dropped', body: '{"code":{"v":1302}}', want: {} },
    { name: 'array dropped', body: '{"code":[1302]}', want: {} },
    { name: 'unknown code 9999 retained', body: json({ code: 9999 }), want: { code: '9999' } },
    { name: 'unknown code 1234 retained', body: json({ code: '1234' }), want: { code: '1234' } },
    { name: 'unknown code 4290 retained', body: json({ code: '4290' }), want: { code: '4290' } },
    { name: '1113 is billing', body: json({ code: '1113' }), want: { class: 'billing', code: '1113' } },
    { name: '1305 is overloaded', body: json({ code: '1305' }), want: { class: 'overloaded', code: '1305' } },
    { name: '1310 is quota', body: json({ code: 1310 }), want: { class: 'quota', code: '1310' } },
  ]);
});

describe('classifyZaiError: message-prefix codes', () => {
  run([
    {
      name: '"1302: …"',
      body: json({ msg: '1302: High concurrency' }),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: '" 1312 busy"',
      body: json({ message: ' 1312 busy' }),
      want: { class: 'model_congestion', code: '1312' },
    },
    {
      name: '"1302x" nested',
      body: json({ error: { message: '1302x' } }),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'tabs and newlines before the code',
      body: json({ msg: '\t\n1305 overloaded' }),
      want: { class: 'overloaded', code: '1305' },
    },
    {
      name: 'Chinese message',
      body: json({ msg: '1302：并发过高' }),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'known billing code',
      body: json({ msg: '1113 account in arrears' }),
      want: { class: 'billing', code: '1113' },
    },
    { name: 'unknown prefix "1234: …" ignored', body: json({ msg: '1234: network error' }), want: {} },
    {
      name: 'number inside prose is no code (the wording still classifies)',
      body: json({ msg: 'rate limit 1302 reached' }),
      want: { class: 'frequency', code: null, basis: 'message' },
    },
    { name: 'longer digit run is not a known code', body: json({ msg: '13021 things' }), want: {} },
    { name: 'more than 8 digits ignored', body: json({ msg: '130213021302: x' }), want: {} },
    {
      name: 'explicit unknown code wins over a known prefix',
      body: json({ code: '9999', msg: '1302: x' }),
      want: { code: '9999' },
    },
    {
      name: 'explicit code wins over a different prefix',
      body: json({ code: 1303, msg: '1302 x' }),
      want: { class: 'frequency', code: '1303' },
    },
    {
      name: 'unusable explicit code falls back to the prefix',
      body: json({ code: 'abc', msg: '1302 x' }),
      want: { class: 'concurrency', code: '1302' },
    },
    { name: 'msg is looked up before message', body: json({ msg: 'no code', message: '1302 x' }), want: {} },
    {
      name: 'numeric msg is read as its token text',
      body: '{"msg":1302}',
      want: { class: 'concurrency', code: '1302' },
    },
  ]);
});

describe('classifyZaiError: reset instant', () => {
  run([
    { name: 'epoch milliseconds', body: json({ reset_time: R }), want: { resetAtMs: R } },
    { name: 'epoch seconds', body: json({ reset_time: R_SEC }), want: { resetAtMs: R } },
    { name: 'numeric string seconds', body: json({ reset_time: String(R_SEC) }), want: { resetAtMs: R } },
    { name: 'padded numeric string', body: json({ reset_time: ` ${R} ` }), want: { resetAtMs: R } },
    { name: 'scientific notation', body: '{"reset_time":1.7888e9}', want: { resetAtMs: 1.7888e12 } },
    { name: 'scientific string', body: json({ reset_time: '1.7888E+12' }), want: { resetAtMs: 1.7888e12 } },
    { name: 'fractional seconds', body: json({ reset_time: R_SEC + 0.5 }), want: { resetAtMs: R + 500 } },
    { name: 'RFC3339 Z', body: json({ reset_time: '2026-09-06T00:00:00Z' }), want: { resetAtMs: R } },
    {
      name: 'RFC3339 offset',
      body: json({ reset_time: '2026-09-06T08:00:00+08:00' }),
      want: { resetAtMs: R },
    },
    {
      name: 'RFC3339 negative offset',
      body: json({ reset_time: '2026-09-05T19:30:00-04:30' }),
      want: { resetAtMs: R },
    },
    {
      name: 'RFC3339 fraction',
      body: json({ reset_time: '2026-09-06T00:00:00.25Z' }),
      want: { resetAtMs: R + 250 },
    },
    {
      name: 'naive stamp with space is UTC+8',
      body: json({ reset_time: R_BEIJING }),
      want: { resetAtMs: R },
    },
    {
      name: 'naive stamp with T is UTC+8',
      body: json({ resetAt: '2026-09-06T08:00:00' }),
      want: { resetAtMs: R },
    },
    {
      name: 'space separator with a zone is neither form',
      body: json({ reset_time: '2026-09-06 00:00:00Z' }),
      want: {},
    },
    { name: 'resetTime', body: json({ resetTime: R }), want: { resetAtMs: R } },
    { name: 'reset_at', body: json({ reset_at: R }), want: { resetAtMs: R } },
    { name: 'resetAt', body: json({ resetAt: R_SEC }), want: { resetAtMs: R } },
    { name: 'next_reset_time', body: json({ next_reset_time: R }), want: { resetAtMs: R } },
    { name: 'nextResetTime', body: json({ nextResetTime: R_BEIJING }), want: { resetAtMs: R } },
    {
      name: 'key order: reset_time before resetAt',
      body: json({ resetAt: R + HOUR, reset_time: R }),
      want: { resetAtMs: R },
    },
    {
      name: 'nested reset wins over the top level',
      body: json({ error: { nextResetTime: R }, reset_time: R + HOUR }),
      want: { resetAtMs: R },
    },
    {
      name: 'message stamp when no field',
      body: json({ code: 1310, msg: `Your limit will reset at ${R_BEIJING}` }),
      want: { class: 'quota', code: '1310', resetAtMs: R },
    },
    {
      name: 'message T stamp (a trailing Z is not part of the match)',
      body: json({ error: { message: 'reset at 2026-09-06T08:00:00Z, retry later' } }),
      want: { resetAtMs: R },
    },
    {
      name: 'unusable field falls back to the message stamp',
      body: json({ reset_time: 'soon', msg: `reset ${R_BEIJING}` }),
      want: { resetAtMs: R },
    },
    {
      name: 'implausible first message stamp is not mined further',
      body: json({ msg: `from 1999-01-01 00:00:00 to ${R_BEIJING}` }),
      want: {},
    },
    {
      name: 'reset kept for an unknown code',
      body: json({ code: 9999, reset_at: R }),
      want: { code: '9999', resetAtMs: R },
    },
    { name: 'seconds exactly 1e9 accepted', body: '{"reset_time":1000000000}', want: { resetAtMs: 1e12 } },
    { name: 'seconds exactly 2e10 accepted', body: '{"reset_time":20000000000}', want: { resetAtMs: 2e13 } },
    { name: 'just below 1e9 is not an epoch', body: '{"reset_time":999999999}', want: {} },
    { name: 'seconds above 2e10 implausible', body: '{"reset_time":20000000001}', want: {} },
    { name: 'milliseconds above 2e13 implausible', body: '{"reset_time":20000000001000}', want: {} },
    { name: 'negative epoch', body: json({ reset_time: -R_SEC }), want: {} },
    { name: 'zero', body: '{"reset_time":0}', want: {} },
    { name: 'stamp before 2001', body: json({ reset_time: '1999-01-01 00:00:00' }), want: {} },
    { name: 'stamp after 2603', body: json({ reset_time: '2700-01-01T00:00:00Z' }), want: {} },
    { name: 'impossible date', body: json({ reset_time: '2026-02-30 00:00:00' }), want: {} },
    { name: 'hour 24', body: json({ reset_time: '2026-09-06 24:00:00' }), want: {} },
    { name: 'hex is not a number', body: json({ reset_time: '0x6a000000' }), want: {} },
    { name: 'null reset', body: '{"reset_time":null}', want: {} },
    { name: 'boolean reset', body: '{"reset_time":true}', want: {} },
  ]);
});

describe('classifyZaiError: body retry hint', () => {
  run([
    { name: 'seconds', body: json({ retry_after: 30 }), want: { retryAfterSec: 30 } },
    { name: 'camelCase', body: json({ retryAfter: 12 }), want: { retryAfterSec: 12 } },
    { name: 'numeric string', body: json({ retry_after: ' 30 ' }), want: { retryAfterSec: 30 } },
    { name: 'fraction', body: json({ retry_after: 1.5 }), want: { retryAfterSec: 1.5 } },
    { name: 'fraction string', body: json({ retry_after: '0.25' }), want: { retryAfterSec: 0.25 } },
    { name: 'exactly 7 days accepted', body: json({ retry_after: 604800 }), want: { retryAfterSec: 604800 } },
    { name: 'over 7 days rejected', body: json({ retry_after: 604801 }), want: {} },
    { name: 'zero rejected', body: json({ retry_after: 0 }), want: {} },
    { name: 'negative rejected', body: json({ retry_after: -5 }), want: {} },
    { name: 'NaN string rejected', body: json({ retry_after: 'NaN' }), want: {} },
    { name: 'Infinity string rejected', body: json({ retry_after: 'Infinity' }), want: {} },
    { name: 'overflow rejected', body: '{"retry_after":1e400}', want: {} },
    { name: 'prose rejected', body: json({ retry_after: 'soon' }), want: {} },
    { name: 'null rejected', body: '{"retry_after":null}', want: {} },
    {
      name: 'nested first',
      body: json({ error: { retryAfter: 3 }, retry_after: 9 }),
      want: { retryAfterSec: 3 },
    },
    {
      name: 'all metadata together',
      body: json({ error: { code: '1308', message: `reset at ${R_BEIJING}` }, retry_after: 60 }),
      want: { class: 'quota', code: '1308', resetAtMs: R, retryAfterSec: 60 },
    },
  ]);
});

describe('classifyZaiError: budget', () => {
  const small = json({ code: '1302' });
  const smallBytes = Buffer.byteLength(small);
  // A valid body padded with trailing whitespace up to exactly n bytes.
  const padded = (n: number): string => small + ' '.repeat(n - smallBytes);
  // The code sits past the budget, so truncation would lose it anyway.
  const hidden = json({ pad: 'x'.repeat(DEFAULT_ZAI_ERROR_BODY_BYTES + 64), code: '1303' });
  run([
    {
      name: 'exactly maxBytes is parsed',
      body: small,
      maxBytes: smallBytes,
      want: { class: 'concurrency', code: '1302' },
    },
    { name: 'maxBytes + 1 is oversized', body: small, maxBytes: smallBytes - 1, want: { oversized: true } },
    {
      name: 'default budget: exactly 32768 bytes parsed',
      body: padded(DEFAULT_ZAI_ERROR_BODY_BYTES),
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'default budget: 32769 bytes oversized',
      body: padded(DEFAULT_ZAI_ERROR_BODY_BYTES + 1),
      want: { oversized: true },
    },
    {
      name: 'zero budget means the default',
      body: padded(DEFAULT_ZAI_ERROR_BODY_BYTES),
      maxBytes: 0,
      want: { class: 'concurrency', code: '1302' },
    },
    {
      name: 'negative budget means the default',
      body: padded(DEFAULT_ZAI_ERROR_BODY_BYTES + 1),
      maxBytes: -1,
      want: { oversized: true },
    },
    {
      name: 'NaN budget means the default',
      body: small,
      maxBytes: Number.NaN,
      want: { class: 'concurrency', code: '1302' },
    },
    { name: 'code hidden past the budget', body: hidden, want: { oversized: true } },
    { name: 'oversized buffer', body: Buffer.from(hidden), want: { oversized: true } },
    {
      name: 'oversized 529 keeps the status class',
      status: 529,
      body: hidden,
      want: { class: 'overloaded', oversized: true },
    },
    {
      name: 'oversized 401 keeps the status class',
      status: 401,
      body: hidden,
      want: { class: 'auth', oversized: true },
    },
    {
      name: 'string budget counts UTF-8 bytes, not characters',
      body: json({ code: '1302', msg: 'é' }),
      maxBytes: json({ code: '1302', msg: 'é' }).length, // one short: 'é' is two bytes
      want: { oversized: true },
    },
  ]);
});

describe('classifyZaiError: malformed bodies', () => {
  run([
    { name: 'null body', body: null, want: {} },
    { name: 'empty string', body: '', want: {} },
    { name: 'empty buffer', body: Buffer.alloc(0), want: {} },
    { name: 'whitespace', body: ' \n\t ', want: {} },
    { name: 'array', body: '[{"code":"1302"}]', want: {} },
    { name: 'JSON string', body: '"1302"', want: {} },
    { name: 'JSON number', body: '1302', want: {} },
    { name: 'JSON null', body: 'null', want: {} },
    { name: 'JSON true', body: 'true', want: {} },
    { name: 'truncated JSON', body: '{"code":"1302"', want: {} },
    { name: 'trailing garbage', body: '{"code":"1302"} x', want: {} },
    { name: 'binary', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x13, 0x02, 0x80]), want: {} },
    { name: 'SSE-prefixed', body: 'data: {"code":"1302"}\n\n', want: {} },
    { name: 'byte-order mark', body: '\uFEFF{"code":"1302"}', want: {} },
    { name: 'HTML error page', body: '<html><body>429 Too Many Requests</body></html>', want: {} },
    {
      name: 'buffer body parsed like a string',
      body: Buffer.from(json({ code: 1302 })),
      want: { class: 'concurrency', code: '1302' },
    },
  ]);
});

describe('classifyZaiError: status classes', () => {
  run([
    { name: '401 empty body is auth', status: 401, body: '', want: { class: 'auth' } },
    { name: '403 with an unrelated body is auth', status: 403, body: '{}', want: { class: 'auth' } },
    { name: '529 without code is overloaded', status: 529, body: null, want: { class: 'overloaded' } },
    {
      name: '529 with an unknown code stays overloaded',
      status: 529,
      body: json({ code: 9999 }),
      want: { class: 'overloaded', code: '9999' },
    },
    {
      name: '529 carrying 1305 is overloaded',
      status: 529,
      body: json({ code: 1305 }),
      want: { class: 'overloaded', code: '1305', basis: 'code' },
    },
    {
      name: '401 carrying 1113 is billing',
      status: 401,
      body: json({ error: { code: '1113' } }),
      want: { class: 'billing', code: '1113' },
    },
    {
      name: '429 carrying 1113 is billing',
      body: json({ code: 1113 }),
      want: { class: 'billing', code: '1113' },
    },
    {
      name: '500 carrying 1234 stays unknown',
      status: 500,
      body: json({ code: 1234, msg: 'Network error' }),
      want: { code: '1234' },
    },
    {
      name: '400 carrying 1302 is classified (the caller decides retries)',
      status: 400,
      body: json({ code: '1302' }),
      want: { class: 'concurrency', code: '1302' },
    },
    { name: '503 plain text is unknown', status: 503, body: 'upstream connect error', want: {} },
    { name: '404 HTML is unknown', status: 404, body: '<html>404</html>', want: {} },
  ]);
});

test('classifyZaiError keeps no provider text', () => {
  const secret = 'acct:marker-7f3a';
  const got = classifyZaiError(
    429,
    json({ error: { code: '1308', message: `${secret} reset at ${R_BEIJING}` } }),
  );
  assert.ok(!JSON.stringify(got).includes('marker'));
  assert.deepEqual(Object.keys(got).sort(), [
    'basis',
    'class',
    'code',
    'oversized',
    'quotaWindow',
    'resetAtMs',
    'retryAfterSec',
  ]);
});

test('codeLabel bounds the label set', () => {
  const rows: [string | null, string][] = [
    ['1113', '1113'],
    ['1302', '1302'],
    ['1303', '1303'],
    ['1305', '1305'],
    ['1308', '1308'],
    ['1310', '1310'],
    ['1312', '1312'],
    ['9999', 'other'],
    ['01302', 'other'],
    ['12345678', 'other'],
    ['', 'none'],
    [null, 'none'],
  ];
  for (const [code, label] of rows) assert.equal(codeLabel(code), label, String(code));
});

test('every truncation of a real body is unknown and never throws', () => {
  const body = json({
    type: 'error',
    error: { type: 'rate_limit_error', code: '1308', message: `Usage limit reached, resets at ${R_BEIJING}` },
    retry_after: 60,
  });
  for (let n = 0; n < body.length; n++) {
    const got = classifyZaiError(429, Buffer.from(body).subarray(0, n));
    assert.deepEqual(
      got,
      {
        class: 'unknown',
        code: null,
        basis: 'status',
        quotaWindow: null,
        resetAtMs: null,
        retryAfterSec: null,
        oversized: false,
      },
      `n=${n}`,
    );
  }
  assert.equal(classifyZaiError(429, body).class, 'quota');
});

test('pseudo-random bytes never throw', () => {
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const alphabet = Buffer.from('{}[]",:0123456789 \\ue-+.codemsgreset_timeretry_aftererror1302T');
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(next() % 64);
    for (let j = 0; j < buf.length; j++)
      buf[j] = i % 2 === 0 ? next() & 0xff : alphabet[next() % alphabet.length]!;
    const got = classifyZaiError(429, buf);
    assert.ok(
      ['unknown', 'concurrency', 'frequency', 'quota', 'model_congestion', 'billing'].includes(got.class),
    );
  }
});
