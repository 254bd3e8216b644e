import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PromParseError, parsePrometheusText, parseValue } from './parse.ts';
import { samplesOf, sumSamples } from './select.ts';

const TEXT = [
  '# HELP zai_proxy_requests_total Total requests.',
  '# TYPE zai_proxy_requests_total counter',
  'zai_proxy_requests_total{method="POST",path="/v1/messages",status="200",variant="production"} 7',
  'zai_proxy_requests_total{method="POST",path="/v1/messages",status="429",variant="production"} 2',
  'zai_proxy_requests_total{method="POST",path="/v1/messages",status="200",variant="canary"} 3',
  '# HELP zai_proxy_request_duration_seconds Request duration.',
  '# TYPE zai_proxy_request_duration_seconds histogram',
  'zai_proxy_request_duration_seconds_bucket{le="0.1",variant="production"} 1',
  'zai_proxy_request_duration_seconds_bucket{le="+Inf",variant="production"} 4',
  'zai_proxy_request_duration_seconds_sum{variant="production"} 1.5',
  'zai_proxy_request_duration_seconds_count{variant="production"} 4',
  '# TYPE rpc summary',
  'rpc{quantile="0.5"} 0.2',
  'rpc_sum 10',
  'rpc_count 40',
  '# TYPE g gauge',
  'g NaN',
  'g{x="a \\"quoted\\" \\\\ back\\nslash"} -Inf 1700000000000',
  'lonely_series 1e3',
  '',
].join('\n');

describe('parsePrometheusText', () => {
  const fams = parsePrometheusText(TEXT);

  test('groups samples into families with their type and help', () => {
    assert.deepEqual(
      [...fams.keys()],
      ['zai_proxy_requests_total', 'zai_proxy_request_duration_seconds', 'rpc', 'g', 'lonely_series'],
    );
    const h = fams.get('zai_proxy_request_duration_seconds')!;
    assert.equal(h.type, 'histogram');
    assert.equal(h.help, 'Request duration.');
    assert.deepEqual(
      h.samples.map((s) => s.name),
      [
        'zai_proxy_request_duration_seconds_bucket',
        'zai_proxy_request_duration_seconds_bucket',
        'zai_proxy_request_duration_seconds_sum',
        'zai_proxy_request_duration_seconds_count',
      ],
    );
    assert.equal(fams.get('rpc')!.samples.length, 3);
    assert.equal(fams.get('lonely_series')!.type, 'untyped');
  });

  test('reads escaped label values, non-finite values and timestamps', () => {
    const g = fams.get('g')!.samples;
    assert.ok(Number.isNaN(g[0]!.value));
    assert.equal(g[1]!.labels.x, 'a "quoted" \\ back\nslash');
    assert.equal(g[1]!.value, Number.NEGATIVE_INFINITY);
    assert.equal(g[1]!.timestampMs, 1_700_000_000_000);
    assert.equal(fams.get('lonely_series')!.samples[0]!.value, 1000);
  });

  test('sums series by a partial label match', () => {
    assert.equal(sumSamples(fams, 'zai_proxy_requests_total'), 12);
    assert.equal(sumSamples(TEXT, 'zai_proxy_requests_total', { variant: 'production' }), 9);
    assert.equal(sumSamples(fams, 'zai_proxy_requests_total', { status: '429' }), 2);
    assert.equal(sumSamples(fams, 'zai_proxy_request_duration_seconds_count'), 4);
    assert.equal(sumSamples(fams, 'absent_metric'), 0);
    assert.equal(samplesOf(fams, 'zai_proxy_request_duration_seconds_bucket', { le: '+Inf' })[0]!.value, 4);
  });

  test('accepts CRLF line ends and other comments', () => {
    const f = parsePrometheusText('# a comment\r\nx 1\r\n# EOF\r\n');
    assert.equal(f.get('x')!.samples[0]!.value, 1);
  });

  const BAD: [string, string][] = [
    ['x{a="1"', 'unterminated labels'],
    ['x{a=1} 2', 'unquoted label value'],
    ['x{a="1",a="2"} 2', 'duplicate label'],
    ['x{1a="1"} 2', 'invalid label name'],
    ['x', 'missing value'],
    ['x abc', 'invalid value'],
    ['x 1 2 3', 'too many fields'],
    ['x 1 1.5', 'fractional timestamp'],
    ['9x 1', 'invalid metric name'],
    ['# TYPE x bogus', 'unknown type'],
    ['# TYPE x counter\n# TYPE x gauge', 'second TYPE'],
    ['x 1\n# TYPE x counter', 'TYPE after samples'],
  ];
  for (const [text, why] of BAD) {
    test(`rejects ${why} with its line number`, () => {
      assert.throws(
        () => parsePrometheusText(`ok 1\n${text}`),
        (e: unknown) => e instanceof PromParseError && e.line >= 2,
      );
    });
  }
});

test('parseValue follows the exposition format', () => {
  assert.equal(parseValue('+Inf'), Number.POSITIVE_INFINITY);
  assert.equal(parseValue('-1.5e-3'), -0.0015);
  assert.equal(parseValue('.5'), 0.5);
  assert.equal(parseValue('0x10'), undefined);
  assert.equal(parseValue(''), undefined);
});
