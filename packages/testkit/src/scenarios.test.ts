import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseScenario, SCENARIO_NAMES, validateScenario } from './scenarios.ts';

describe('parseScenario', () => {
  test('every scenario name parses bare', () => {
    for (const name of SCENARIO_NAMES) assert.equal(parseScenario(name).name, name);
  });

  test('options become typed fields', () => {
    assert.deepEqual(
      parseScenario(
        'ok;input=10;output=3;cache_read=4;cache_write=1;events=2;delay=5;chunk=1;crlf=1;no_usage=0;gate',
      ),
      {
        name: 'ok',
        input: 10,
        output: 3,
        cacheRead: 4,
        cacheWrite: 1,
        events: 2,
        delayMs: 5,
        chunk: 1,
        crlf: true,
        noUsage: false,
        gate: true,
      },
    );
  });

  test('zai_error keeps code and hints as text', () => {
    assert.deepEqual(
      parseScenario(
        'zai_error;status=529;code=1312;envelope=anthropic;retry_after_header=7;reset=+60;reset_field=resetAt',
      ),
      {
        name: 'zai_error',
        status: 529,
        code: '1312',
        envelope: 'anthropic',
        retryAfterHeader: '7',
        reset: '+60',
        resetField: 'resetAt',
      },
    );
  });

  test('per-scenario meanings: status code= is the HTTP status, slow_headers delay= the head delay', () => {
    assert.equal(parseScenario('status;code=503').status, 503);
    assert.equal(parseScenario('slow_headers;delay=250').headerDelayMs, 250);
    assert.equal(parseScenario('slow_headers;delay=250').delayMs, undefined);
  });

  test('header= repeats, route= pins, values are percent-decoded', () => {
    const s = parseScenario(
      'status;header=X-A:1;header=X-B: two:parts;route=chat_completions;body=%7B%22a%22%3A1%7D',
    );
    assert.deepEqual(s.headers, [
      ['X-A', '1'],
      ['X-B', 'two:parts'],
    ]);
    assert.equal(s.route, 'chat_completions');
    assert.equal(s.body, '{"a":1}');
    assert.equal(parseScenario('zai_error;msg=37% used').msg, '37% used');
  });

  test('fail_then_ok wraps the inner scenario with the remaining options', () => {
    assert.deepEqual(parseScenario('fail_then_ok;times=3;with=zai_error;code=1303;route=messages'), {
      name: 'fail_then_ok',
      times: 3,
      route: 'messages',
      inner: { name: 'zai_error', code: '1303' },
    });
    assert.deepEqual(parseScenario('fail_then_ok').inner, { name: 'zai_error' });
  });

  test('mistakes are refused with a message naming them', () => {
    const cases: Array<[string, RegExp]> = [
      ['nope', /unknown scenario 'nope'/],
      ['ok;typo=1', /takes no option 'typo'/],
      ['ok;output=-1', /output must be a non-negative integer/],
      ['ok;gate=yes', /gate must be 1 or 0/],
      ['zai_error;envelope=xml', /envelope must be one of/],
      ['status;header=novalue', /header must be Name:Value/],
      ['ok;route=elsewhere', /route must be one of/],
      ['fail_then_ok;with=fail_then_ok', /cannot wrap itself/],
      ['fail_then_ok;with=ok;bogus=1', /takes no option 'bogus'/],
      ['ok;chunk=0', /chunk must be at least 1/],
      ['status;code=42', /HTTP status/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseScenario(text),
        (err: Error & { code?: string }) => {
          assert.match(err.message, re);
          assert.equal(err.code, 'SIM_SCENARIO_INVALID');
          return true;
        },
      );
    }
  });

  test('hand-built specs are validated too', () => {
    assert.throws(() => validateScenario({ name: 'bogus' as 'ok' }), /unknown scenario/);
    assert.doesNotThrow(() => validateScenario({ name: 'fail_then_ok', times: 1, inner: { name: 'empty' } }));
  });
});
