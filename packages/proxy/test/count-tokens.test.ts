// count_tokens Claude Code can trust, through the proxy against the simulated Z.AI: an upstream's
// 404 is remembered for a while instead of a failed round trip per turn, and the local answer is
// calibrated per model against the input usage the sim reports under its GLM-like token model.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import { glmInputTokens } from '@zai-proxy/testkit';
import { codingTurn } from '../src/usage/fixtures/coding-turns.ts';
import { createTokenCounter, estimateInputTokens } from '../src/usage/index.ts';
import { fakeClock, json, type Stack, startStack } from './harness.ts';
import { startRedisServer } from './redis-server.ts';

const HOUR = 3_600_000;
const UNSUPPORTED = { 'x-sim-scenario': 'count_tokens_unsupported' };
const count = (s: Stack, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/v1/messages/count_tokens`, { method: 'POST', body: JSON.stringify(body), headers });
const until = async (pred: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await pred()); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(await pred(), 'condition reached');
};

describe('count_tokens: an upstream without the endpoint is remembered', () => {
  const clock = fakeClock();
  let s: Stack;
  before(async () => {
    s = await startStack({ clock });
  });
  after(() => s.close());
  const body = { model: 'glm-4.6', messages: [{ role: 'user', content: 'How many tokens is this?' }] };

  test('one 404 upstream, then local answers without asking until the memory expires', async () => {
    const r1 = await count(s, body, UNSUPPORTED);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('x-token-source'), 'estimate');
    assert.equal(s.sim.journal.length, 1);
    for (let i = 0; i < 3; i++) {
      const r = await count(s, body, UNSUPPORTED);
      assert.equal(r.status, 200);
      assert.equal((await json(r)).input_tokens > 0, true);
      assert.equal(r.headers.get('x-token-source'), 'estimate');
    }
    assert.equal(s.sim.journal.length, 1, 'no round trip while the 404 is remembered');
    await clock.sleep(HOUR, new AbortController().signal); // COUNT_TOKENS_UNSUPPORTED_TTL default
    await count(s, body, UNSUPPORTED);
    assert.equal(s.sim.journal.length, 2, 'asked again once the memory expired');
  });

  test('an upstream that answers is passed through and forgets the 404', async () => {
    s.sim.reset();
    await clock.sleep(HOUR, new AbortController().signal);
    const up = await count(s, body); // the sim implements count_tokens by default
    assert.equal(up.headers.get('x-token-source'), null);
    assert.equal(s.sim.journal.length, 1);
    await count(s, body, UNSUPPORTED);
    await count(s, body, UNSUPPORTED);
    assert.equal(s.sim.journal.length, 2, 'first 404 asked, the next one answered locally');
  });
});

describe('count_tokens: calibrated against provider usage', () => {
  let s: Stack;
  let dir: string;
  let statePath: string;
  const env = () => ({ TOKEN_CALIBRATION_INTERVAL: '0', TOKEN_CALIBRATION_STATE_FILE: statePath });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zai-ct-'));
    statePath = join(dir, 'state', 'token-calibration.json');
    s = await startStack({ env: env(), sim: { tokenModel: 'glm' } });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('error falls from the raw cl100k error to within 5 %; the ratio is exported, persisted and restored', async () => {
    const counter = await createTokenCounter();
    try {
      // Requests with known provider input usage: the sim reports glmInputTokens(body).
      const N = 24;
      for (let n = 0; n < N; n++) {
        const body = { ...codingTurn(3, n), stream: n % 2 === 0 };
        const r = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: JSON.stringify(body) });
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      }
      const samples = async () =>
        sumSamples(await s.metricsText(), 'zai_proxy_token_estimate_error_ratio_count', { estimate: 'raw' });
      await until(async () => (await samples()) === N);

      const raw: number[] = [];
      const calibrated: number[] = [];
      for (let n = 0; n < 10; n++) {
        const body = codingTurn(4, n); // never sent before
        const provider = glmInputTokens(body);
        const r = await count(s, body, UNSUPPORTED);
        assert.equal(r.headers.get('x-token-source'), 'estimate-calibrated');
        const answer = (await json(r)).input_tokens as number;
        assert.equal(r.headers.get('x-token-input'), String(answer));
        calibrated.push(Math.abs(answer - provider) / provider);
        raw.push(Math.abs((await estimateInputTokens(counter, 'anthropic', body)) - provider) / provider);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(
        `count_tokens vs sim provider count: raw cl100k mean |error| ${(mean(raw) * 100).toFixed(1)} %, calibrated ${(mean(calibrated) * 100).toFixed(1)} %`,
      );
      assert.ok(mean(raw) > 0.15, `raw ${mean(raw)}`);
      assert.ok(Math.max(...calibrated) < 0.05, `calibrated ${calibrated}`);

      const text = await s.metricsText();
      const ratio = sumSamples(text, 'zai_proxy_token_calibration_ratio', { model: 'glm-4.6' });
      assert.ok(ratio > 1.2 && ratio < 1.35, `ratio ${ratio}`);
      // the histogram shows the raw estimate under-counting and the calibrated one near 0
      assert.ok(
        sumSamples(text, 'zai_proxy_token_estimate_error_ratio_bucket', { estimate: 'raw', le: '-0.1' }) >=
          N - 1,
      );
    } finally {
      await counter.close();
    }

    await s.close(); // saves the state
    assert.ok(existsSync(statePath));
    assert.ok(JSON.parse(readFileSync(statePath, 'utf8')).models['glm-4.6'].ratio > 1.2);
    s = await startStack({ env: env(), sim: { tokenModel: 'glm' } });
    assert.ok(s.logs.some((l) => l.includes('restored 1 model ratio(s)')));
    const r = await count(s, codingTurn(5, 0), UNSUPPORTED);
    assert.equal(r.headers.get('x-token-source'), 'estimate-calibrated', 'calibrated from the first answer');
  });
});

/** Six answered requests of conversation `seed`, each a calibration sample, all learned. */
async function learnFrom(s: Stack, seed: number): Promise<void> {
  for (let n = 0; n < 6; n++) {
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify(codingTurn(seed, n)),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  await until(
    async () =>
      sumSamples(await s.metricsText(), 'zai_proxy_token_estimate_error_ratio_count', { estimate: 'raw' }) ===
      6,
  );
}

describe('count_tokens: calibration kept in the proxy state store by default', () => {
  test('without TOKEN_CALIBRATION_STATE_FILE the ratios live in the admission state file and survive a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zai-ct-state-'));
    const env = { TOKEN_CALIBRATION_INTERVAL: '0', RATE_LIMIT_STATE_FILE: join(dir, 'admission-state.json') };
    let s = await startStack({ env, sim: { tokenModel: 'glm' } });
    try {
      await learnFrom(s, 6);
      await s.close(); // saves the ratios into the state store, which then writes its file
      const doc = JSON.parse(readFileSync(env.RATE_LIMIT_STATE_FILE, 'utf8')).docs['token-calibration'];
      assert.ok(doc.value.models['glm-4.6'].ratio > 1.2, JSON.stringify(doc));
      s = await startStack({ env, sim: { tokenModel: 'glm' } });
      assert.ok(s.logs.some((l) => l.includes('in the admission state: restored 1 model ratio(s)')));
      const r = await count(s, codingTurn(7, 0), UNSUPPORTED);
      assert.equal(
        r.headers.get('x-token-source'),
        'estimate-calibrated',
        'calibrated from the first answer',
      );
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('count_tokens: calibration shared through Redis', () => {
  test('with REDIS_URL the ratios are a Redis document: a new replica starts calibrated', async () => {
    const redis = await startRedisServer();
    const env = { TOKEN_CALIBRATION_INTERVAL: '0', REDIS_URL: redis.url };
    let s = await startStack({ env, sim: { tokenModel: 'glm' } });
    try {
      await learnFrom(s, 8);
      await s.close(); // saves the ratios to Redis before the store disconnects
      s = await startStack({ env, sim: { tokenModel: 'glm' } });
      assert.ok(
        s.logs.some((l) => l.includes('in Redis: restored 1 model ratio(s)')),
        s.logs.filter((l) => /calibration/i.test(l)).join(''),
      );
      const r = await count(s, codingTurn(9, 0), UNSUPPORTED);
      assert.equal(
        r.headers.get('x-token-source'),
        'estimate-calibrated',
        'calibrated from the first answer',
      );
    } finally {
      await s.close();
      await redis.close();
    }
  });
});
