// The real entry point as a child process: startup errors, SIGTERM draining, exit codes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const KEY = 'zai-main-test-KEY-42';

function start(env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  return { child, out: () => out };
}

async function waitForText(out: () => string, re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = out().match(re);
    if (m) return m;
    if (Date.now() > end) throw new Error(`no ${re} in output:\n${out()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('entry point', () => {
  let sim: SimUpstream;
  before(async () => {
    sim = await startSimUpstream({ apiKey: KEY });
  });
  after(() => sim.close());

  test('an invalid variable stops startup with exit 1 and a message naming it', async () => {
    const { child, out } = start({ MAX_RETRIES: 'lots', PORT: '99999' });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(out(), /MAX_RETRIES/);
    assert.match(out(), /PORT/);
  });

  test('SIGTERM: the in-flight stream finishes, then the process exits 0', async () => {
    const { child, out } = start({
      ZAI_API_KEY: KEY,
      ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
      SHUTDOWN_TIMEOUT: '10s',
    });
    const port = Number((await waitForText(out, /"port":(\d+)/))[1]);
    assert.match(out(), /Token counting enabled \(tiktoken cl100k_base encoding, model: glm-4\)/);
    const body = JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 8,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const received = new Promise<{ text: string; complete: boolean }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/messages',
          method: 'POST',
          headers: { 'x-sim-scenario': 'ok;events=3;gate=1' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
            if (!child.killed) child.kill('SIGTERM'); // first event in, the rest gated upstream
          });
          res.on('end', () => resolve({ text, complete: res.complete }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    await waitForText(out, /Shutting down: draining in-flight requests/);
    for (let i = 0; i < 10; i++) sim.advance();
    const r = await received;
    assert.equal(r.complete, true, 'the stream ended cleanly during the drain');
    assert.match(r.text, /message_stop/);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(out(), /Shutdown complete/);
    assert.ok(!out().includes(KEY), 'the key is never logged');
  });
});
