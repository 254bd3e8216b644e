// The real entry point as a child process: startup errors, a rollout's SIGTERM, exit codes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const KEY = 'zai-main-test-KEY-42';

let started = 0;
function start(env: Record<string, string>): { child: ChildProcess; out: () => string } {
  // A state file of its own: the default one in /tmp holds limits other proxies on this machine learned.
  const state = join(tmpdir(), `zai-main-test-${process.pid}-${++started}.json`);
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', RATE_LIMIT_STATE_FILE: state, ...env },
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

  test('a rollout never cuts a turn: SIGTERM turns /readyz 503 at once, the listener serves through SHUTDOWN_DELAY, streams finish, exit 0', async () => {
    const { child, out } = start({
      ZAI_API_KEY: KEY,
      ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
      // Long enough that nothing below depends on timing; the second signal ends the delay.
      SHUTDOWN_DELAY: '10m',
    });
    const port = Number((await waitForText(out, /"port":(\d+)/))[1]);
    assert.match(out(), /Token counting enabled \(tiktoken cl100k_base encoding, model: glm-4\)/);

    const turn = openStream(port); // a Claude Code turn, streaming
    await turn.first;
    child.kill('SIGTERM');
    await waitForText(out, /Shutting down: draining in-flight requests/);
    assert.deepEqual(await get(port, '/readyz'), { status: 503, body: '{"status":"draining"}' });

    // Load balancers have not all noticed yet: a request arriving now is still served, and its
    // connection is closed afterwards so the client's next one goes to a ready pod.
    const late = await post(port);
    assert.equal(late.status, 200);
    assert.equal(late.connection, 'close');
    const second = openStream(port); // a turn that started during the delay
    await second.first;
    assert.equal((await get(port, '/readyz')).status, 503, 'still not ready while the turns stream');

    child.kill('SIGTERM'); // the second signal ends the delay: no new connections from here on
    await until(async () => (await connectError(port)) === 'ECONNREFUSED');
    for (let i = 0; i < 20; i++) sim.advance();
    for (const r of [await turn.done, await second.done]) {
      assert.equal(r.complete, true, 'the stream ended cleanly during the drain');
      assert.match(r.text, /message_stop/);
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(out(), /Shutdown complete/);
    assert.ok(!out().includes(KEY), 'the key is never logged');
  });
});

const BODY = (stream: boolean) =>
  JSON.stringify({ model: 'glm-4.6', max_tokens: 8, stream, messages: [{ role: 'user', content: 'x' }] });

/** A gated stream through the proxy: `first` when its first event arrives, `done` at its end. */
function openStream(port: number): {
  first: Promise<void>;
  done: Promise<{ text: string; complete: boolean }>;
} {
  let first!: () => void;
  const firstP = new Promise<void>((r) => {
    first = r;
  });
  const done = new Promise<{ text: string; complete: boolean }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/messages',
        method: 'POST',
        agent: false,
        headers: { 'x-sim-scenario': 'ok;events=3;gate=1' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
          first();
        });
        res.on('end', () => resolve({ text, complete: res.complete }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY(true));
  });
  return { first: firstP, done };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

function post(port: number): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/v1/messages', method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end(BODY(false));
  });
}

/** The error code of a fresh connection attempt, or null when it connects. */
function connectError(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function until(ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 25));
  }
}
