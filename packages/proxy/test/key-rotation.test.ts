// ZAI_API_KEY_FILE rotated under live traffic: new exchanges use the new key at once, exchanges in
// flight (a stream, a request between retries) keep the key they started with, and no key reaches
// a log line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/clock.ts';
import type { Schedule } from '../src/upstream/zai-key.ts';
import { fakeClock, type Stack, startStack } from './harness.ts';

const BODY = (stream: boolean) =>
  JSON.stringify({ model: 'glm-4.6', max_tokens: 8, stream, messages: [{ role: 'user', content: 'x' }] });

function post(
  url: string,
  scenario: string | null,
  stream = false,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (scenario !== null) headers['x-sim-scenario'] = scenario;
    const req = request(`${url}/v1/messages`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(BODY(stream));
  });
}

describe('key rotation through ZAI_API_KEY_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zai-rotate-'));
  const file = join(dir, 'zai-api-key');
  let s: Stack;
  let tick = () => {};
  const schedule: Schedule = (fn) => {
    tick = fn;
    return () => {};
  };
  /** Rotates the file and runs the re-read, as the 5 s timer would. */
  const rotate = (key: string) => {
    writeFileSync(file, `${key}\n`);
    tick();
  };
  // A retry wait during which the Secret is rotated.
  let onRetryWait: (() => void) | null = null;
  const base = fakeClock();
  const clock: Clock = {
    ...base,
    sleep(ms, signal) {
      onRetryWait?.();
      onRetryWait = null;
      return base.sleep(ms, signal);
    },
  };
  const keysSeen = () => s.sim.journal.map((j) => j.credential.value);

  before(async () => {
    writeFileSync(file, 'zai-KEY-one\n');
    s = await startStack({
      env: { ZAI_API_KEY: '', ZAI_API_KEY_FILE: file },
      keySchedule: schedule,
      simApiKey: null, // the sim accepts any key and journals it
      clock,
    });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a stream in flight keeps its key; the next request carries the rotated one', async () => {
    s.sim.reset();
    const streaming = post(s.url, 'ok;events=3;gate=1', true);
    await s.sim.waitFor((j) => j.length === 1);
    rotate('zai-KEY-two');
    const next = await post(s.url, null);
    assert.equal(next.status, 200);
    for (let i = 0; i < 10; i++) s.sim.advance();
    const r = await streaming;
    assert.equal(r.status, 200);
    assert.match(r.text, /message_stop/);
    assert.deepEqual(keysSeen(), ['zai-KEY-one', 'zai-KEY-two']);
  });

  test('a request rotated between its attempts retries with the key it started with', async () => {
    s.sim.reset();
    // A 1303 is retried after a back-off (a 1302 would be requeued by admission, without a wait).
    s.sim.enqueue('zai_error;code=1303', 'ok');
    onRetryWait = () => rotate('zai-KEY-three');
    const r = await post(s.url, null);
    assert.equal(r.status, 200);
    assert.equal((await post(s.url, null)).status, 200);
    assert.deepEqual(keysSeen(), ['zai-KEY-two', 'zai-KEY-two', 'zai-KEY-three']);
  });

  test('no key is ever logged; the reload is', () => {
    const logged = s.logs.join('');
    assert.equal(logged.match(/Z\.AI key reloaded from ZAI_API_KEY_FILE/g)?.length, 2);
    assert.ok(!/zai-KEY-/.test(logged));
  });
});
