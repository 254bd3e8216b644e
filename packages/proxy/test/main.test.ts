// The real entry point as a child process: startup errors, a rollout's SIGTERM, exit codes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { CONFIG_VARIABLES } from '../src/config.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const KEY = 'zai-main-test-KEY-42';

let started = 0;
// The children run in an empty directory: a developer's own .env in the checkout is never read.
const TSX = import.meta.resolve('tsx'); // resolved here: the children's directory has no node_modules
const CWD = mkdtempSync(join(tmpdir(), 'zai-main-test-'));
after(() => rmSync(CWD, { recursive: true, force: true }));

function start(
  env: Record<string, string>,
  args: string[] = [],
  cwd = CWD,
): { child: ChildProcess; out: () => string } {
  const state = join(tmpdir(), `zai-main-test-${process.pid}-${++started}.json`);
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    // A state file of its own: the default one in /tmp holds limits other proxies on this machine learned.
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

describe('entry point: arguments and settings', () => {
  /** Runs to its exit; the output, and the exit code. */
  async function run(env: Record<string, string>, args: string[] = [], cwd = CWD) {
    const { child, out } = start(env, args, cwd);
    const [code] = await once(child, 'exit');
    return { code: code as number, out: out() };
  }

  for (const arg of ['--help', '-h']) {
    test(`${arg}: usage and every variable on stdout, exit 0, no server`, async () => {
      // A server would keep the process alive: exiting at all says none was started.
      const r = await run({}, [arg]);
      assert.equal(r.code, 0);
      assert.match(r.out, /^Usage: zai-proxy \[--help \| --version\]/);
      for (const name of CONFIG_VARIABLES) assert.ok(r.out.includes(`  ${name}`), `${name} listed`);
      assert.doesNotMatch(r.out, /listening/);
    });
  }

  test('--version: the package version and the commit, exit 0, no server', async () => {
    const r = await run({}, ['--version']);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.match(
      r.out,
      new RegExp(`^zai-proxy ${pkg.version.replaceAll('.', '\\.')} \\(commit [0-9a-f]{12}(-dirty)?\\)\n$`),
    );
    const pinned = await run({ ZAI_PROXY_VERSION: '9.9.9', ZAI_PROXY_COMMIT: 'abc123' }, ['--version']);
    assert.equal(pinned.out, 'zai-proxy 9.9.9 (commit abc123)\n');
  });

  test('an unknown argument: exit 2 naming it', async () => {
    const r = await run({}, ['--port=1']);
    assert.equal(r.code, 2);
    assert.match(r.out, /unknown argument --port=1 \(try --help\)/);
  });

  test('config errors show the value and the rule, and never a secret', async () => {
    const r = await run({
      PORT: 'abc',
      MAX_RETRIES: '0x3',
      LOG_LEVEL: 'LOUD',
      ZAI_TARGET_URL: 'api.z.ai',
      ADMIN_TOKEN: 'short-SECRET',
      REDIS_URL: 'http://user:pw-SECRET@redis:6379',
      ZAI_API_KEY: 'zai-SECRET-key',
    });
    assert.equal(r.code, 1);
    assert.match(r.out, /PORT="abc": expected an integer 0–65535/);
    assert.match(r.out, /MAX_RETRIES="0x3": expected an integer 0–20/);
    assert.match(r.out, /LOG_LEVEL="LOUD": expected one of fatal, error, warn, info, debug, trace, silent/);
    assert.match(r.out, /ZAI_TARGET_URL="api.z.ai": expected an http\(s\) URL/);
    assert.match(r.out, /ADMIN_TOKEN=\(hidden\): expected at least 16 characters/);
    assert.match(r.out, /REDIS_URL="http:\/\/user:\*\*\*@redis:6379": expected redis:\/\/host:port/);
    assert.doesNotMatch(r.out, /SECRET/);
  });

  test('enumerations and booleans are case-insensitive: LOG_LEVEL=Info, TOKEN_COUNTING_ENABLED=FALSE', async () => {
    const { child, out } = start({ LOG_LEVEL: 'Info', ZAI_API_KEY: 'k', TOKEN_COUNTING_ENABLED: 'FALSE' });
    await waitForText(out, /"port":(\d+)/); // started: the level was accepted
    child.kill('SIGTERM');
    await once(child, 'exit');
    assert.match(out(), /Token counting disabled \(TOKEN_COUNTING_ENABLED=false\)/);
  });

  test('unknown variables with a project prefix are warned about with the closest name; service links are not', async () => {
    const { child, out } = start({
      ZAI_API_KEY: 'k',
      TOKEN_COUNTING_ENABLE: 'false',
      ZAI_TARGT_URL: 'http://x',
      QUOTA_MAX_RESPONSE_BYTES: '65536',
      // What Kubernetes injects for a Service named zai-proxy (and one named proxy-api):
      ZAI_PROXY_SERVICE_HOST: '10.0.0.1',
      ZAI_PROXY_SERVICE_PORT: '8080',
      ZAI_PROXY_SERVICE_PORT_HTTP: '8080',
      ZAI_PROXY_PORT: 'tcp://10.0.0.1:8080',
      ZAI_PROXY_PORT_8080_TCP: 'tcp://10.0.0.1:8080',
      ZAI_PROXY_PORT_8080_TCP_ADDR: '10.0.0.1',
      ZAI_PROXY_PORT_8080_TCP_PORT: '8080',
      ZAI_PROXY_PORT_8080_TCP_PROTO: 'tcp',
      PROXY_API_SERVICE_HOST: '10.0.0.2',
    });
    await waitForText(out, /"port":(\d+)/);
    child.kill('SIGTERM');
    await once(child, 'exit');
    const warnings = out()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
    assert.ok(
      warnings.includes(
        'TOKEN_COUNTING_ENABLE is not a zai-proxy variable and is ignored; did you mean TOKEN_COUNTING_ENABLED?',
      ),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.includes(
        'ZAI_TARGT_URL is not a zai-proxy variable and is ignored; did you mean ZAI_TARGET_URL?',
      ),
    );
    assert.ok(
      warnings.includes(
        'QUOTA_MAX_RESPONSE_BYTES is a variable of the original proxy: the quota read budget is a fixed 64 KiB; it is ignored',
      ),
    );
    assert.deepEqual(
      warnings.filter((w) => /SERVICE|_PORT/.test(w)),
      [],
      'no warning for service-link variables',
    );
  });

  test('a .env in the working directory is read; variables already set win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zai-dotenv-'));
    try {
      writeFileSync(join(dir, '.env'), 'MAX_RETRIES=7\nDEPLOYMENT_VARIANT=from-dotenv\n');
      const r = await run({ DEPLOYMENT_VARIANT: 'from-env' }, ['--version'], dir);
      assert.equal(r.code, 0);
      const { child, out } = start({ DEPLOYMENT_VARIANT: 'from-env', ZAI_API_KEY: 'k' }, [], dir);
      await waitForText(out, /"port":(\d+)/);
      child.kill('SIGTERM');
      await once(child, 'exit');
      assert.match(out(), /variant=from-env/);
      writeFileSync(join(dir, '.env'), 'MAX_RETRIES=lots\n');
      const bad = await run({}, [], dir);
      assert.equal(bad.code, 1);
      assert.match(bad.out, /MAX_RETRIES="lots"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
