// Stream keepalives: while upstream is silent the official SDKs get pings (Anthropic) or comments
// (OpenAI) between whole events and still complete; every event's bytes are those upstream sent.
// The interval is scaled down to 30 ms; the tests wait for events (a keepalive seen, a stream
// ended), never for a duration to pass.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { sumSamples } from '@zai-proxy/prom-text';
import { sha256 } from '@zai-proxy/testkit';
import OpenAI from 'openai';
import { KEEPALIVE_BYTES } from '../src/upstream/keepalive.ts';
import { type Stack, startStack } from './harness.ts';

const PING = KEEPALIVE_BYTES.anthropic.toString();
const COMMENT = KEEPALIVE_BYTES.openai.toString();

/** Polls cond until it holds (a wait for an event, bounded so a missing event fails the test). */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fetch that hands the SDK its response and keeps a copy of every byte the proxy sent. */
function teeFetch(raw: { text: string }): typeof fetch {
  return async (input, init) => {
    const r = await fetch(input, init);
    if (r.body === null) return r;
    const [mine, theirs] = r.body.tee();
    const dec = new TextDecoder();
    (async () => {
      for await (const c of mine as unknown as AsyncIterable<Uint8Array>)
        raw.text += dec.decode(c, { stream: true });
    })().catch(() => {});
    return new Response(theirs, { status: r.status, headers: r.headers });
  };
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

/** Releases one gated upstream event each time another keepalive has reached the client. */
async function releaseAfterEachKeepalive(s: Stack, raw: { text: string }, ka: string, done: () => boolean) {
  let seen = 0;
  while (!done()) {
    await until(() => done() || count(raw.text, ka) > seen, 'a keepalive');
    seen = count(raw.text, ka);
    s.sim.advance();
  }
}

describe('stream keepalives', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { STREAM_KEEPALIVE_INTERVAL: '30ms', TOKEN_COUNTING_ENABLED: 'true' } });
  });
  after(() => s.close());

  test('Anthropic SDK: pings while upstream is silent between events, the message completes', async () => {
    const raw = { text: '' };
    const client = new Anthropic({ baseURL: s.url, apiKey: 'k', maxRetries: 0, fetch: teeFetch(raw) });
    const stream = client.messages.stream(
      { model: 'glm-4.6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-sim-scenario': 'ok;events=3;gate=1;input=11;output=7' } },
    );
    let ended = false;
    const driver = releaseAfterEachKeepalive(s, raw, PING, () => ended);
    const msg = await stream.finalMessage();
    ended = true;
    await driver;
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok((msg.content[0] as { text: string }).text.length > 0);
    assert.equal(msg.usage.output_tokens, 7);
    const j = s.sim.journal.at(-1)!;
    await s.sim.waitFor(() => j.responseSha256 !== '');
    const pings = count(raw.text, PING);
    assert.ok(pings >= 3, `pings between the gated events (${pings})`);
    // Take the proxy's pings out and what is left is upstream's stream, byte for byte.
    const upstreamBytes = Buffer.from(raw.text.split(PING).join(''));
    assert.equal(sha256(upstreamBytes), j.responseSha256);
    // Each ping sits between whole events, after message_start and before message_stop.
    for (let i = raw.text.indexOf(PING); i !== -1; i = raw.text.indexOf(PING, i + 1)) {
      assert.ok(raw.text.slice(0, i).endsWith('\n\n'));
      assert.ok(raw.text.slice(0, i).includes('event: message_start'));
      assert.ok(!raw.text.slice(0, i).includes('event: message_stop'));
    }
    const m = await s.metricsText();
    assert.ok(sumSamples(m, 'zai_proxy_stream_keepalives_total', { api: 'anthropic' }) >= pings);
    // Accounting saw upstream's usage, not the pings.
    assert.ok(sumSamples(m, 'zai_proxy_tokens_total', { direction: 'output' }) >= 7);
  });

  test('OpenAI SDK: keepalive comments while upstream is silent, the completion streams to its end', async () => {
    const raw = { text: '' };
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'k', maxRetries: 0, fetch: teeFetch(raw) });
    const before = sumSamples(await s.metricsText(), 'zai_proxy_stream_keepalives_total', { api: 'openai' });
    const stream = await client.chat.completions.create(
      { model: 'glm-4.6', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-sim-scenario': 'ok;events=3;gate=1' } },
    );
    let ended = false;
    const driver = releaseAfterEachKeepalive(s, raw, COMMENT, () => ended);
    let text = '';
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    ended = true;
    await driver;
    assert.equal(finish, 'stop');
    assert.ok(text.length > 0);
    const comments = count(raw.text, COMMENT);
    assert.ok(comments >= 3, `comments between the gated events (${comments})`);
    for (let i = raw.text.indexOf(COMMENT); i !== -1; i = raw.text.indexOf(COMMENT, i + 1)) {
      assert.ok(raw.text.slice(0, i).endsWith('\n\n'));
      assert.ok(!raw.text.slice(0, i).includes('[DONE]'));
    }
    // Nothing but the comments was added: with them removed, the events are upstream's (the usage
    // chunk the proxy asked for on the client's behalf is the only thing taken out).
    const events = raw.text.split(COMMENT).join('');
    assert.ok(events.endsWith('data: [DONE]\n\n'));
    assert.ok(!events.includes('"usage":{'), 'the added usage chunk stays hidden');
    const m = await s.metricsText();
    assert.ok(sumSamples(m, 'zai_proxy_stream_keepalives_total', { api: 'openai' }) - before >= comments);
  });

  test('no keepalive before the response head: a stream whose headers are slow arrives as sent', async () => {
    const before = sumSamples(await s.metricsText(), 'zai_proxy_stream_keepalives_total');
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-scenario': 'slow_headers;delay=200' },
      body: JSON.stringify({
        model: 'glm-4.6',
        max_tokens: 8,
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    const bytes = Buffer.from(await r.arrayBuffer());
    const j = s.sim.journal.at(-1)!;
    await s.sim.waitFor(() => j.responseSha256 !== '');
    assert.equal(sha256(bytes), j.responseSha256);
    assert.equal(sumSamples(await s.metricsText(), 'zai_proxy_stream_keepalives_total'), before);
  });

  test('never into a non-streaming response, however long upstream takes', async () => {
    const before = sumSamples(await s.metricsText(), 'zai_proxy_stream_keepalives_total');
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-scenario': 'slow_headers;delay=200' },
      body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = await r.json();
    assert.equal((body as { type: string }).type, 'message');
    assert.equal(sumSamples(await s.metricsText(), 'zai_proxy_stream_keepalives_total'), before);
  });
});

describe('stream keepalives against an upstream that stops inside an event', () => {
  // A hand-written upstream: message_start, then half of an event, silence, the rest of it, silence
  // at a boundary until the client has a ping, then the end.
  let upstream: Server;
  let s: Stack;
  let phase: (() => void) | null = null;
  before(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":1}}}\n\n',
      );
      res.write('event: content_block_delta\ndata: {"type":"content_block_delta",');
      phase = () => {
        res.write('"index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n');
        phase = () => {
          res.write('event: message_stop\ndata: {"type":"message_stop"}\n\n');
          phase = () => res.end(); // silent after message_stop for a while, then closed
        };
      };
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    s = await startStack({
      env: { STREAM_KEEPALIVE_INTERVAL: '20ms', ZAI_TARGET_URL: `http://127.0.0.1:${port}/api/anthropic` },
    });
  });
  after(async () => {
    await s.close();
    upstream.close();
  });

  test('a keepalive waits for the event in progress to end; none goes after message_stop', async () => {
    let text = '';
    const ended = new Promise<void>((resolve, reject) => {
      const req = request(
        `${s.url}/v1/messages`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.end(
        JSON.stringify({
          model: 'glm-4.6',
          max_tokens: 8,
          stream: true,
          messages: [{ role: 'user', content: 'x' }],
        }),
      );
    });
    // Upstream is silent inside an event: the proxy keeps checking (and may ping before it began).
    await until(() => text.includes('"content_block_delta",'), 'the half event');
    const pingsBefore = count(text, PING);
    // Silent for 10 intervals; a wait, not an assertion on time: a ping here would split the event.
    await new Promise((r) => setTimeout(r, 200));
    phase!();
    await until(() => count(text, PING) > pingsBefore, 'a ping after the event completed');
    phase!();
    await until(() => text.includes('message_stop"}'), 'message_stop');
    await new Promise((r) => setTimeout(r, 200)); // 10 intervals of silence after the end event
    phase!();
    await ended;
    const halfAt = text.indexOf('event: content_block_delta');
    const whole =
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n';
    assert.equal(text.slice(halfAt, halfAt + whole.length), whole, 'the event arrived in one piece');
    assert.ok(
      text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'),
      'no ping after message_stop',
    );
  });
});
