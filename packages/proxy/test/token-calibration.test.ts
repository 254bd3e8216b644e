// The calibrated count_tokens estimate against the simulated upstream's token model (GLM-like:
// cl100k × 1.27 plus template tokens): fed requests with known provider input usage, the error of
// the local estimate falls from the raw cl100k error to within 5 %.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { glmInputTokens } from '@zai-proxy/testkit';
import { codingTurn } from '../src/usage/fixtures/coding-turns.ts';
import { createTokenCounter, estimateInputTokens, type TokenCounter } from '../src/usage/index.ts';
import { TokenCalibrator } from '../src/usage/token-calibration.ts';

let counter: TokenCounter;
before(async () => {
  counter = await createTokenCounter();
});
after(() => counter.close());

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('calibrated error falls from the raw cl100k error to within 5 % on the sim token model', async () => {
  assert.equal(counter.mode, 'tiktoken');
  const c = new TokenCalibrator();
  const raw: number[] = [];
  const calibrated: number[] = [];
  const N = 120;
  for (let n = 0; n < N; n++) {
    const body = codingTurn(1, n);
    const estimate = await estimateInputTokens(counter, 'anthropic', body);
    const provider = glmInputTokens(body); // what the sim reports as input usage
    const e = c.observe('glm-4.6', estimate, provider, n);
    assert.ok(e !== null, `sample ${n} used (${estimate} vs ${provider})`);
    raw.push(Math.abs(e.raw));
    calibrated.push(Math.abs(e.calibrated));
  }
  // Out of sample: each error is the estimate's before its own sample was learned; skip the first
  // ten, while the ratio is still settling.
  const rawErr = mean(raw);
  const calErr = mean(calibrated.slice(10));
  const calMax = Math.max(...calibrated.slice(10));
  console.log(
    `raw cl100k mean |error| ${(rawErr * 100).toFixed(1)} %, calibrated ${(calErr * 100).toFixed(1)} % (max ${(calMax * 100).toFixed(1)} %), ratio ${c.ratio('glm-4.6').toFixed(3)}`,
  );
  assert.ok(rawErr > 0.15, `raw error ${rawErr}`);
  assert.ok(calErr < 0.05, `calibrated error ${calErr}`);
  assert.ok(calMax < 0.1, `worst calibrated error ${calMax}`);
  // Fresh requests, never learned from: the calibrated estimate is within 5 % of the provider.
  for (let n = 0; n < 20; n++) {
    const body = codingTurn(2, n);
    const provider = glmInputTokens(body);
    const est = c.calibrate('glm-4.6', await estimateInputTokens(counter, 'anthropic', body));
    assert.ok(Math.abs(est - provider) / provider < 0.05, `fresh ${n}: ${est} vs ${provider}`);
  }
});
