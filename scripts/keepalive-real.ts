// Stream keepalives at their real default interval (STREAM_KEEPALIVE_INTERVAL = 10 s): an Anthropic
// SDK stream and an OpenAI SDK stream whose upstream goes silent for 25 s after its first event
// must each get at least two keepalives and then complete. Takes about 30 s; run by .ci/run.
//   node --import tsx scripts/keepalive-real.ts
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { buildProxy, createLogger, loadConfig } from '@zai-proxy/proxy';
import { startSimUpstream } from '@zai-proxy/testkit';
import OpenAI from 'openai';

const SILENCE_MS = 25_000;
const KEY = 'zai-keepalive-KEY-00112233445566';
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const COMMENT = ': keepalive\n\n';

const sim = await startSimUpstream({ apiKey: KEY });
const cfg = loadConfig({
  ZAI_API_KEY: KEY,
  ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
  ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
  LOG_LEVEL: 'warn',
});
assert.equal(cfg.STREAM_KEEPALIVE_INTERVAL, 10_000, 'the default interval');
const proxy = await buildProxy(cfg, createLogger(cfg.LOG_LEVEL));
const { port } = await proxy.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${port}`;

/** A fetch that keeps a copy of every byte the proxy sent. */
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

const t0 = Date.now();
const a = { text: '' };
const o = { text: '' };
const anthropic = new Anthropic({ baseURL: base, apiKey: 'k', maxRetries: 0, fetch: teeFetch(a) });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0, fetch: teeFetch(o) });
const scenario = { headers: { 'x-sim-scenario': 'ok;events=2;gate=1' } };
const msg = anthropic.messages
  .stream({ model: 'glm-4.6', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }, scenario)
  .finalMessage();
const chat = (async () => {
  const s = await openai.chat.completions.create(
    { model: 'glm-4.6', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    scenario,
  );
  let finish: string | null = null;
  for await (const c of s) finish = c.choices[0]?.finish_reason ?? finish;
  return finish;
})();
// Both streams hold their first event; upstream is silent for SILENCE_MS, then sends the rest.
await new Promise((r) => setTimeout(r, SILENCE_MS));
const release = setInterval(() => sim.advance(), 20);
const [m, finish] = await Promise.all([msg, chat]);
clearInterval(release);
const pings = a.text.split(PING).length - 1;
const comments = o.text.split(COMMENT).length - 1;
console.log(
  `keepalive at the default 10 s: ${SILENCE_MS / 1000} s of upstream silence gave ${pings} Anthropic pings and ${comments} OpenAI comments; both streams completed (${m.stop_reason}, ${finish}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
assert.equal(m.stop_reason, 'end_turn');
assert.equal(finish, 'stop');
assert.ok(pings >= 2 && pings <= 3, `pings: ${pings}`);
assert.ok(comments >= 2 && comments <= 3, `comments: ${comments}`);
await proxy.shutdown(0);
await sim.close();
