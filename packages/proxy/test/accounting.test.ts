// Token and cost accounting through the proxy: counts equal what the upstream reported, to the token,
// and the client gets the upstream's bytes unchanged (except a usage member added where absent).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { sumSamples } from '@zai-proxy/prom-text';
import { sha256 as sha, until } from '@zai-proxy/testkit';
import OpenAI from 'openai';
import { createTokenCounter, estimateInputTokens } from '../src/usage/index.ts';
import { json, type Stack, startStack } from './harness.ts';

const DIRS = ['input', 'output', 'cache_read', 'cache_write'] as const;

interface Case {
  name: string;
  path: string;
  body: Record<string, unknown>;
  scenario: string;
  /** Provider reported no usage: the estimate is used and (JSON) a usage member is added. */
  noUsage?: boolean;
  /** OpenAI stream without include_usage: the proxy asks for it and hides the usage chunk. */
  stripped?: boolean;
}

const ant = (stream: boolean) => ({
  model: 'glm-4.6',
  max_tokens: 256,
  stream,
  system: 'You are terse.',
  tools: [{ name: 'lookup', description: 'Looks things up', input_schema: { type: 'object' } }],
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Count every token of this, please.' }] }],
});
const oai = (stream: boolean, includeUsage: boolean) => ({
  model: 'GLM-4.6',
  stream,
  ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Count every token of this, please.' },
  ],
});

const CASES: Case[] = [
  {
    name: 'anthropic json, cache read+write',
    path: '/v1/messages',
    body: ant(false),
    scenario: 'ok;input=100;output=20;cache_read=30;cache_write=40',
  },
  {
    name: 'anthropic stream, 1-byte chunks',
    path: '/v1/messages',
    body: ant(true),
    scenario: 'ok;input=50;output=7;cache_read=11;chunk=1',
  },
  {
    name: 'anthropic stream, cache write, CRLF',
    path: '/v1/messages',
    body: ant(true),
    scenario: 'ok;input=13;cache_write=9;crlf=1',
  },
  {
    name: 'openai json, cached prompt',
    path: '/v1/chat/completions',
    body: oai(false, false),
    scenario: 'ok;input=80;output=15;cache_read=25',
  },
  {
    name: 'openai stream with include_usage, 1-byte chunks',
    path: '/v1/chat/completions',
    body: oai(true, true),
    scenario: 'ok;input=21;output=5;cache_read=5;chunk=1',
  },
  {
    name: 'openai stream without include_usage',
    path: '/v1/chat/completions',
    body: oai(true, false),
    scenario: 'ok;input=33;output=6',
    stripped: true,
  },
  {
    name: 'anthropic json without usage',
    path: '/v1/messages',
    body: ant(false),
    scenario: 'ok;no_usage=1',
    noUsage: true,
  },
  {
    name: 'anthropic stream without usage',
    path: '/v1/messages',
    body: ant(true),
    scenario: 'ok;no_usage=1;chunk=3',
    noUsage: true,
  },
  {
    name: 'openai json without usage',
    path: '/v1/chat/completions',
    body: oai(false, false),
    scenario: 'ok;no_usage=1',
    noUsage: true,
  },
];

describe('accounting', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  test('a mixed batch: provider tokens equal what upstream reported; bytes unchanged but for added usage', async () => {
    const expected = { input: 0, output: 0, cache_read: 0, cache_write: 0 };
    for (const c of CASES) {
      const r = await fetch(`${s.url}${c.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim-scenario': c.scenario },
        body: JSON.stringify(c.body),
      });
      const bytes = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200, c.name);
      const j = s.sim.journal.at(-1)!;
      await s.sim.waitFor(() => j.responseSha256 !== '');
      if (c.noUsage) {
        assert.equal(j.reportedUsage, null, `${c.name}: upstream reported none`);
        if (c.body.stream) {
          assert.equal(sha(bytes), j.responseSha256, `${c.name}: stream bytes unchanged`);
        } else {
          // The only change: a top-level "usage" member spliced in before the final brace.
          const text = bytes.toString('utf8');
          const at = text.lastIndexOf(',"usage":');
          assert.ok(at > 0, `${c.name}: usage added`);
          const original = Buffer.from(`${text.slice(0, at)}}`);
          assert.equal(sha(original), j.responseSha256, `${c.name}: every other byte unchanged`);
          assert.equal(
            r.headers.get('x-token-source'),
            'estimate',
            `${c.name}: X-Token-Input marked as an estimate`,
          );
          assert.ok(Number(r.headers.get('x-token-input')) > 0);
          const added = JSON.parse(text).usage;
          assert.ok(
            (added.input_tokens ?? added.prompt_tokens) > 0 &&
              (added.output_tokens ?? added.completion_tokens) > 0,
          );
        }
        continue;
      }
      const u = j.reportedUsage!;
      assert.ok(u !== null, `${c.name}: upstream reported usage`);
      for (const d of DIRS) expected[d] += u[d];
      if (c.stripped) {
        assert.equal(
          j.json &&
            (j.json as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage,
          true,
        );
        const text = bytes.toString('utf8');
        assert.ok(!text.includes('"usage"'), 'the usage-only chunk is hidden from a client that did not ask');
        assert.ok(text.trimEnd().endsWith('data: [DONE]'));
        assert.ok(bytes.length < j.responseBytes);
      } else {
        assert.equal(sha(bytes), j.responseSha256, `${c.name}: bytes unchanged`);
      }
      if (!c.body.stream) {
        assert.equal(
          Number(r.headers.get('x-token-input')),
          u.input + u.cache_read + u.cache_write,
          `${c.name}: X-Token-Input`,
        );
      }
    }
    await until(
      async () => sumSamples(await s.metricsText(), 'zai_proxy_usage_source_total') >= CASES.length,
    );
    const text = await s.metricsText();
    for (const d of DIRS) {
      assert.equal(
        sumSamples(text, 'zai_proxy_tokens_total', { direction: d, source: 'provider' }),
        expected[d],
        `provider ${d}`,
      );
    }
    assert.ok(sumSamples(text, 'zai_proxy_tokens_total', { direction: 'input', source: 'estimate' }) > 0);
    assert.ok(sumSamples(text, 'zai_proxy_tokens_total', { direction: 'output', source: 'estimate' }) > 0);
    assert.equal(
      sumSamples(text, 'zai_proxy_tokens_total', { direction: 'cache_read', source: 'estimate' }),
      0,
    );
    assert.match(
      text,
      /zai_proxy_tokens_total\{direction="input",model="glm-4.6",variant="production",pricing_tier="(peak|off_peak)",source="provider"\}/,
    );
    assert.equal(sumSamples(text, 'zai_proxy_usage_source_total', { source: 'estimate' }), 3);
    assert.ok(sumSamples(text, 'zai_proxy_token_count_duration_seconds_count') > 0);
    // Cost: default list prices per 1K tokens, the same in both tiers; cache writes are free.
    const inTok = sumSamples(text, 'zai_proxy_tokens_total', { direction: 'input' });
    const inCost = sumSamples(text, 'zai_proxy_estimated_cost_usd_total', { direction: 'input' });
    const perK = (inCost / inTok) * 1000;
    assert.ok(Math.abs(perK - 0.0006) < 1e-9, `input price ${perK}`);
    // Plan units of glm-4.6 (multiplier 1 at all hours): full-price tokens, a cache read at 1/5.
    const units = expected.input + expected.output + 0.2 * expected.cache_read + expected.cache_write;
    const planUnits = sumSamples(text, 'zai_proxy_plan_usage_units_total', { source: 'provider' });
    assert.ok(Math.abs(planUnits - units) < 1e-6, `plan units ${planUnits} vs ${units}`);
    assert.equal(sumSamples(text, 'zai_proxy_estimated_cost_usd_total', { direction: 'cache_write' }), 0);
    assert.ok(
      s.logs.some((l) =>
        l.includes('"msg":"Token usage: input=100, output=20, cache_read=30, cache_write=40"'),
      ),
    );
    assert.ok(s.logs.some((l) => l.includes('Token usage (estimated): input=')));
  });

  test('SDK clients get the usage upstream reported; models fold into a bounded label set', async () => {
    const a = new Anthropic({ apiKey: 'x', baseURL: s.url, maxRetries: 0 });
    const st = a.messages.stream(
      { model: 'Some-Custom-Model-2049', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-sim-scenario': 'ok;output=4;input=3' } },
    );
    const msg = await st.finalMessage();
    assert.equal(msg.usage.output_tokens, 4);
    const o = new OpenAI({ apiKey: 'x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    const stream = await o.chat.completions.create(
      { model: 'glm-4.6', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-sim-scenario': 'ok;output=4' } },
    );
    let sawUsage = false;
    for await (const chunk of stream) if (chunk.usage) sawUsage = true;
    assert.equal(sawUsage, false, 'no usage chunk for a client that did not ask');
    await until(async () => /model="other"/.test(await s.metricsText()));
    assert.ok(!(await s.metricsText()).includes('Some-Custom-Model'));
  });

  test('count_tokens: forwarded when Z.AI has it, answered locally (and marked) when it does not', async () => {
    // glm-4.7: a model no earlier test of this stack has calibrated, so the answer is the raw estimate
    const body = {
      model: 'glm-4.7',
      system: 'sys',
      messages: [{ role: 'user', content: 'How many tokens is this?' }],
    };
    const up = await fetch(`${s.url}/v1/messages/count_tokens`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(up.status, 200);
    assert.equal(up.headers.get('x-token-source'), null);
    const local = await fetch(`${s.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-sim-scenario': 'count_tokens_unsupported' },
      body: JSON.stringify(body),
    });
    assert.equal(local.status, 200);
    assert.equal(local.headers.get('x-token-source'), 'estimate');
    const counter = await createTokenCounter();
    const n = await estimateInputTokens(counter, 'anthropic', body);
    await counter.close();
    assert.deepEqual(await json(local), { input_tokens: n });
    assert.equal(local.headers.get('x-token-input'), String(n));
    const text = await s.metricsText();
    assert.equal(
      sumSamples(text, 'zai_proxy_upstream_errors_total', { error_type: '404' }),
      0,
      'an expected 404 is no alert',
    );
    const sdk = new Anthropic({ apiKey: 'x', baseURL: s.url, maxRetries: 0 });
    const r = await sdk.messages.countTokens(
      { model: 'glm-4.7', messages: [{ role: 'user', content: 'hello there' }] },
      { headers: { 'x-sim-scenario': 'count_tokens_unsupported' } },
    );
    assert.ok(r.input_tokens > 0);
  });

  test('/health and metrics show the active counting mode; the startup line runbooks grep is logged', async () => {
    const h = await json(await fetch(`${s.url}/health`));
    const { calibration, ...tc } = h.token_counting;
    assert.deepEqual(tc, { enabled: true, mode: 'tiktoken', encoding: 'cl100k_base', model: 'glm-4' });
    // the learned count_tokens ratios per model (this stack has answered glm-4.6 requests)
    assert.equal(typeof calibration['glm-4.6'], 'number');
    assert.equal(sumSamples(await s.metricsText(), 'zai_proxy_token_counting_mode', { mode: 'tiktoken' }), 1);
    assert.ok(
      s.logs.some((l) => l.includes('Token counting enabled (tiktoken cl100k_base encoding, model: glm-4)')),
    );
  });
});

describe('accounting modes', () => {
  test('fallback counter: visible in /health, a metric and the log lines of the guide', async () => {
    const s = await startStack({ env: { TOKENIZER_FALLBACK: 'true' } });
    try {
      const tc = (await json(await fetch(`${s.url}/health`))).token_counting;
      assert.equal(tc.mode, 'fallback');
      assert.equal(tc.encoding, 'utf8_bytes_div_4');
      assert.equal(
        sumSamples(await s.metricsText(), 'zai_proxy_token_counting_mode', { mode: 'fallback' }),
        1,
      );
      assert.ok(s.logs.some((l) => l.includes('Falling back to SimpleTokenCounter')));
      assert.ok(s.logs.some((l) => l.includes('Token counting enabled (fallback mode, model: glm-4)')));
    } finally {
      await s.close();
    }
  });

  test('disabled: no token metrics, no body changes, no usage injection upstream', async () => {
    const s = await startStack({ env: { TOKEN_COUNTING_ENABLED: 'false' } });
    try {
      const r = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-sim-scenario': 'ok;no_usage=1' },
        body: JSON.stringify(ant(false)),
      });
      const bytes = Buffer.from(await r.arrayBuffer());
      assert.equal(sha(bytes), s.sim.journal.at(-1)!.responseSha256);
      await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(oai(true, false)),
      }).then((x) => x.text());
      assert.equal(JSON.parse(s.sim.journal.at(-1)!.body.toString()).stream_options, undefined);
      const text = await s.metricsText();
      assert.ok(!/^zai_proxy_tokens_total\{/m.test(text));
      assert.equal(sumSamples(text, 'zai_proxy_token_counting_mode', { mode: 'disabled' }), 1);
      assert.ok(s.logs.some((l) => l.includes('Token counting disabled (TOKEN_COUNTING_ENABLED=false)')));
    } finally {
      await s.close();
    }
  });

  test('a usage member without usable counts: the output is estimated, the body left as it is', async () => {
    const s = await startStack();
    try {
      const body = JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text: 'four words of output' }],
        usage: {},
      });
      const r = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-sim-scenario': `status;code=200;body=${encodeURIComponent(body)}` },
        body: JSON.stringify(ant(false)),
      });
      assert.equal(await r.text(), body);
      await until(
        async () =>
          sumSamples(await s.metricsText(), 'zai_proxy_tokens_total', {
            direction: 'output',
            source: 'estimate',
          }) > 0,
      );
    } finally {
      await s.close();
    }
  });
  test('a bad PRICING_JSON stops startup naming the variable', async () => {
    await assert.rejects(
      startStack({ env: { PRICING_JSON: '{"glm-4.6": {"input": "cheap"}}' } }),
      /PRICING_JSON/,
    );
  });
});

describe('the include_usage request edit is a splice', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  test('a 100,000-deep body with invalid UTF-8 reaches Z.AI byte for byte, plus the member', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const head = Buffer.from(
      '{"model":"glm-4.6","stream":true,"messages":[{"role":"user","content":"x"}],"user":"',
    );
    const bad = Buffer.from([0xff, 0xfe, 0xc3]); // not UTF-8: a re-encode would send U+FFFD instead
    const tail = Buffer.from(`","extra":${deep}}`);
    const body = Buffer.concat([head, bad, tail]);
    const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.ok((await r.text()).trimEnd().endsWith('data: [DONE]'));
    const sent = s.sim.journal.at(-1)!.body;
    const expected = Buffer.concat([
      head,
      bad,
      Buffer.from(`","extra":${deep},"stream_options":{"include_usage":true}}`),
    ]);
    assert.equal(sent.length, expected.length);
    assert.ok(sent.equals(expected), 'every client byte kept, the member appended');
  });

  test("the client's own stream_options keep their members and order", async () => {
    const body =
      '{"model":"glm-4.6","stream":true,"stream_options":{"x":1,"include_usage":false},"messages":[{"role":"user","content":"x"}]}';
    const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body });
    await r.text();
    assert.equal(
      s.sim.journal.at(-1)!.body.toString(),
      body.replace('"include_usage":false', '"include_usage":true'),
    );
  });
});
