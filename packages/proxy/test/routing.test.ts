// Model routing through the proxy and the simulated Z.AI: the upstream receives the client's body
// with only the `model` value changed (both APIs, stream and not), the response says what was routed,
// accounting labels the served model with the requested one beside it, /health lists the rules, and
// the quota step-down applies at a conversation's start and sticks to its session.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parsePrometheusText, samplesOf, sumSamples } from '@zai-proxy/prom-text';
import type { Clock } from '../src/clock.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { json, type Stack, startStack } from './harness.ts';

const MAP = 'claude-*haiku*=glm-4.5-air,claude-*=glm-4.6';
const stacks: Stack[] = [];
after(() => Promise.all(stacks.map((s) => s.close())));

async function stack(env: Record<string, string>, clock?: Clock): Promise<Stack> {
  const s = await startStack({ env: { CONCURRENCY_ENABLED: 'false', ...env }, ...(clock ? { clock } : {}) });
  stacks.push(s);
  return s;
}

const post = (s: Stack, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

/** The last body the sim received. */
const upstreamBody = (s: Stack) => s.sim.journal.at(-1)!.body.toString('utf8');

// Odd whitespace, escapes in the model string and elsewhere, number spellings JSON.stringify would
// change, a key order it would keep: only the model's bytes may differ upstream.
const MODEL_RAW = '"claude-\\u006fpus-4-8"'; // claude-opus-4-8, spelled with an escape
const anthropicBody = (stream: boolean) =>
  `{ "max_tokens" :16,\n\t"model"  :  ${MODEL_RAW} ,"messages":[{"role":"user","content":"h\\u00e9llo \\"q\\" \\\\ / 1.50e0"}],"temperature":1.50e0${stream ? ', "stream" : true' : ''} }`;
const openaiBody = (stream: boolean) =>
  `{"messages":[ {"role":"user","content":"tab\\there"} ],  "model":${MODEL_RAW},"max_tokens":16,"top_p":1.0${stream ? ',"stream":true,"stream_options":{"include_usage":true}' : ''}\n}`;

describe('MODEL_MAP through the proxy', () => {
  const cases: [string, string, (stream: boolean) => string][] = [
    ['anthropic', '/v1/messages', anthropicBody],
    ['openai', '/v1/chat/completions', openaiBody],
  ];
  for (const [api, path, body] of cases) {
    for (const stream of [false, true]) {
      test(`${api}${stream ? ' stream' : ''}: only the model's bytes change upstream; the response says so`, async () => {
        const s = await stack({ MODEL_MAP: MAP });
        const sent = body(stream);
        const r = await post(s, path, sent);
        assert.equal(r.status, 200);
        await r.arrayBuffer();
        assert.equal(upstreamBody(s), sent.replace(MODEL_RAW, '"glm-4.6"'));
        assert.equal(r.headers.get('x-zai-model-routed'), 'from=claude-opus-4-8; to=glm-4.6');
      });
    }
  }

  test('a mapped OpenAI stream without include_usage: both edits land, in the room past the body', async () => {
    // The model edit (longer here: gpt-4o → glm-4.5-air) uses some of the room a declared-length body
    // is read with; the include_usage edit after it must still see every byte of the first.
    const s = await stack({ MODEL_MAP: 'gpt-*=glm-4.5-air' });
    const sent = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"${'y'.repeat(3000)}"}] }`;
    const r = await post(s, '/v1/chat/completions', sent);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const want = sent
      .replace('"gpt-4o"', '"glm-4.5-air"')
      .replace(/\] \}$/, '],"stream_options":{"include_usage":true} }');
    assert.equal(upstreamBody(s), want);
  });

  test('count_tokens is mapped too; a model no rule matches goes byte for byte, without the header', async () => {
    const s = await stack({ MODEL_MAP: MAP });
    const ct = '{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"hi"}]}';
    await (await post(s, '/v1/messages/count_tokens', ct)).arrayBuffer();
    assert.equal(s.sim.journal.at(-1)!.path, '/api/anthropic/v1/messages/count_tokens');
    assert.equal(upstreamBody(s), ct.replace('claude-3-5-haiku-20241022', 'glm-4.5-air'));
    const glm = '{"model":"glm-4.6","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}';
    const r = await post(s, '/v1/messages', glm);
    await r.arrayBuffer();
    assert.equal(upstreamBody(s), glm);
    assert.equal(r.headers.get('x-zai-model-routed'), null);
  });

  test('the header carries the client string sanitised; an error answer carries it too', async () => {
    const s = await stack({ MODEL_MAP: MAP });
    const body = JSON.stringify({
      model: 'claude-ópus\r\nx: y',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const r = await post(s, '/v1/messages', body);
    await r.arrayBuffer();
    assert.equal(r.headers.get('x-zai-model-routed'), 'from=claude-_pus__x:_y; to=glm-4.6');
    s.sim.enqueue('zai_error;status=400;code=1210');
    const e = await post(s, '/v1/messages', anthropicBody(false));
    assert.equal(e.status, 400);
    await e.arrayBuffer();
    assert.equal(e.headers.get('x-zai-model-routed'), 'from=claude-opus-4-8; to=glm-4.6');
  });

  test('tokens are labelled with the served model and a bounded requested_model', async () => {
    const s = await stack({ MODEL_MAP: `${MAP},*=glm-4.6` });
    for (const model of ['claude-opus-4-8', 'claude-haiku-4-5', 'glm-4.6', 'made-up-model-ab12']) {
      const body = JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
      await (await post(s, '/v1/messages', body)).arrayBuffer();
    }
    const text = await s.metricsText();
    const pairs = new Set(
      samplesOf(parsePrometheusText(text), 'zai_proxy_tokens_total', { direction: 'output' }).map(
        (x) => `${x.labels.requested_model}→${x.labels.model}`,
      ),
    );
    assert.deepEqual([...pairs].sort(), [
      'claude-haiku→glm-4.5-air',
      'claude-opus→glm-4.6',
      'glm-4.6→glm-4.6',
      'other→glm-4.6',
    ]);
    assert.equal(
      sumSamples(text, 'zai_proxy_model_routed_total', {
        requested_model: 'claude-opus',
        model: 'glm-4.6',
        reason: 'map',
      }),
      1,
    );
    assert.equal(sumSamples(text, 'zai_proxy_model_routed_total', { requested_model: 'other' }), 1);
    assert.equal(sumSamples(text, 'zai_proxy_model_routed_total'), 3, 'glm-4.6 was not routed');
    // The access line names both: the model served, and the client's model string as it came.
    const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.requestedModel === 'claude-opus-4-8');
    assert.equal(line?.model, 'glm-4.6');
    assert.equal(line?.log, 'access');
  });

  test('/health lists the rules; without any, routing is off and the body is untouched', async () => {
    const s = await stack({ MODEL_MAP: MAP, MODEL_STEP_DOWN: 'glm-4.6=glm-4.5-air@five_hour>0.9' });
    const h = await json(await fetch(`${s.url}/health`));
    assert.deepEqual(h.routing, {
      enabled: true,
      rules: ['claude-*haiku*=glm-4.5-air', 'claude-*=glm-4.6'],
      step_down: [
        {
          rule: 'glm-4.6=glm-4.5-air@five_hour>0.9',
          active: false,
          window: 'five_hour',
          above: 0.9,
          used_fraction: null,
        },
      ],
      sticky_conversations: 0,
    });
    assert.ok(
      s.logs.some((l) => l.includes('MODEL_STEP_DOWN has quota conditions but quota polling is off')),
      'a quota rule without polling is a warning',
    );
    const off = await stack({});
    assert.deepEqual((await json(await fetch(`${off.url}/health`))).routing, { enabled: false });
    const r = await post(off, '/v1/messages', anthropicBody(false));
    await r.arrayBuffer();
    assert.equal(upstreamBody(off), anthropicBody(false));
    assert.equal(r.headers.get('x-zai-model-routed'), null);
  });
});

describe('start-up validation', () => {
  const fails = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err;
    }
    assert.fail('expected a ConfigError');
  };

  test('a shadowed rule, a cycle or a bad condition stops start-up, naming the variable and the rule', () => {
    const e1 = fails({ MODEL_MAP: 'claude-*=glm-4.6,claude-*haiku*=glm-4.5-air' });
    assert.deepEqual(e1.variables, ['MODEL_MAP']);
    assert.match(
      e1.message,
      /MODEL_MAP="[^"]*": rule "claude-\*haiku\*=glm-4\.5-air" never applies: rule "claude-\*=glm-4\.6"/,
    );
    const e2 = fails({
      MODEL_MAP: 'glm-4.6=glm-4.5,glm-4.5=glm-4.6',
      MODEL_STEP_DOWN: 'glm-4.6=glm-4.5-air@hourly>0.5',
    });
    assert.deepEqual(e2.variables, ['MODEL_MAP', 'MODEL_STEP_DOWN']);
    assert.match(
      e2.message,
      /MODEL_MAP="[^"]*": rules "glm-4\.6=glm-4\.5", "glm-4\.5=glm-4\.6" form a cycle/,
    );
    assert.match(
      e2.message,
      /MODEL_STEP_DOWN="[^"]*": rule "glm-4\.6=glm-4\.5-air@hourly>0\.5": condition "hourly>0\.5"/,
    );
  });

  test('a target outside the known GLM models is a warning at start-up, not an error', async () => {
    const s = await stack({ MODEL_MAP: 'claude-*=glm-9-preview' });
    assert.ok(
      s.logs.some((l) => l.includes('"level":40') && l.includes('glm-9-preview is not a known GLM model')),
    );
  });
});

describe('quota step-down through the proxy', () => {
  /** A clock whose sleeps last until shutdown: the poller polls once, at start. */
  const pollOnce: Clock = {
    now: () => Date.now(),
    random: () => 0,
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
  };

  async function polled(fivePct: number): Promise<Stack> {
    const s = await stack(
      { MODEL_MAP: MAP, MODEL_STEP_DOWN: 'glm-4.6=glm-4.5-air@five_hour>0.9', QUOTA_POLL_ENABLED: 'true' },
      pollOnce,
    );
    s.sim.enqueue(`ok;five_hour_pct=${fivePct};weekly_pct=10;route=quota`);
    for (;;) {
      const h = await json(await fetch(`${s.url}/health`));
      if (h.quota.last_outcome !== undefined) return s;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const turn = (assistant: boolean, first = 'hi') =>
    JSON.stringify({
      model: 'claude-opus-4-8',
      max_tokens: 16,
      messages: [
        { role: 'user', content: first },
        ...(assistant
          ? [
              { role: 'assistant', content: 'hello' },
              { role: 'user', content: 'and?' },
            ]
          : []),
      ],
    });
  const served = async (s: Stack, assistant: boolean, session?: string, first?: string) => {
    const r = await post(
      s,
      '/v1/messages',
      turn(assistant, first),
      session ? { 'x-claude-code-session-id': session } : {},
    );
    await r.arrayBuffer();
    return {
      model: (s.sim.journal.at(-1)!.json as { model: string }).model,
      header: r.headers.get('x-zai-model-routed'),
    };
  };

  test('a hot window steps new conversations down and their later turns stay there; others keep their model', async () => {
    const s = await polled(95);
    const start = await served(s, false, 'session-a');
    assert.deepEqual(start, {
      model: 'glm-4.5-air',
      header: 'from=claude-opus-4-8; to=glm-4.5-air; step_down=five_hour>0.9',
    });
    assert.equal((await served(s, true, 'session-a')).model, 'glm-4.5-air', 'sticky for its session');
    assert.equal(
      (await served(s, true, 'session-b')).model,
      'glm-4.6',
      'a conversation begun before: no switch',
    );
    assert.equal((await served(s, true)).model, 'glm-4.6', 'mid-conversation without a session: no switch');
    assert.equal((await served(s, false)).model, 'glm-4.5-air', 'a start without a session');
    // A subagent starts in session-b (its own first message): stepped down; the conversation begun
    // before keeps its model on its next turn.
    assert.equal((await served(s, false, 'session-b', 'run the tests')).model, 'glm-4.5-air');
    assert.equal((await served(s, true, 'session-b', 'run the tests')).model, 'glm-4.5-air');
    assert.equal(
      (await served(s, true, 'session-b')).model,
      'glm-4.6',
      'the main conversation keeps glm-4.6',
    );
    const h = await json(await fetch(`${s.url}/health`));
    assert.equal(h.routing.step_down[0].active, true);
    assert.equal(h.routing.step_down[0].used_fraction, 0.95);
    assert.equal(h.routing.sticky_conversations, 2);
    assert.ok(
      s.logs.some((l) => l.includes('Model step-down on: new conversations on glm-4.6 get glm-4.5-air')),
    );
    const text = await s.metricsText();
    assert.equal(
      sumSamples(text, 'zai_proxy_model_routed_total', { reason: 'step_down', model: 'glm-4.5-air' }),
      5,
    );
  });

  test('a conversation past 1 MiB keeps its step-down; the rest of its body goes as sent', async () => {
    const s = await polled(95);
    const first = {
      role: 'user',
      content: [{ type: 'text', text: 'fix the build', cache_control: { type: 'ephemeral' } }],
    };
    const start = JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 16, messages: [first] });
    const r0 = await post(s, '/v1/messages', start, { 'x-claude-code-session-id': 'big' });
    await r0.arrayBuffer();
    assert.equal((s.sim.journal.at(-1)!.json as { model: string }).model, 'glm-4.5-air');
    // Later turns: Claude Code has moved the cache marker off the first message to the newest turn,
    // and the tool output has pushed the body past the 1 MiB under which the parsed tree is kept.
    const later = (pad: number) =>
      `{"model":"claude-opus-4-8","max_tokens":16,"messages":[${JSON.stringify({ ...first, content: [{ type: 'text', text: 'fix the build' }] })},{"role":"assistant","content":"looking"},{"role":"user","content":[{"type":"text","text":"${'x'.repeat(pad)}","cache_control":{"type":"ephemeral"}}]}]}`;
    const big = later(1_100_000);
    assert.ok(Buffer.byteLength(big) > 1024 * 1024);
    const r1 = await post(s, '/v1/messages', big, { 'x-claude-code-session-id': 'big' });
    assert.equal(r1.status, 200);
    await r1.arrayBuffer();
    assert.equal(
      r1.headers.get('x-zai-model-routed'),
      'from=claude-opus-4-8; to=glm-4.5-air; step_down=five_hour>0.9',
    );
    assert.equal(upstreamBody(s), big.replace('"claude-opus-4-8"', '"glm-4.5-air"'));
    const small = await post(s, '/v1/messages', later(10), { 'x-claude-code-session-id': 'big' });
    await small.arrayBuffer();
    assert.equal(
      (s.sim.journal.at(-1)!.json as { model: string }).model,
      'glm-4.5-air',
      'a small later turn too',
    );
  });

  test('a cool window: every conversation keeps the mapped model', async () => {
    const s = await polled(50);
    assert.equal((await served(s, false, 'session-c')).model, 'glm-4.6');
    assert.equal((await served(s, true, 'session-c')).model, 'glm-4.6');
    assert.equal((await json(await fetch(`${s.url}/health`))).routing.step_down[0].active, false);
  });
});
