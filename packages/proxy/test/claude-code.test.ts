// The real Claude Code CLI (the pinned @anthropic-ai/claude-code devDependency) against the proxy on
// 127.0.0.1, given a key that is not in PROXY_API_KEYS: the proxy's 401 says x-should-retry: false,
// so Claude Code makes one request and prints the error instead of retrying for a minute. It runs
// with a temporary HOME, non-essential traffic and the updater off, and every other connection sent
// through HTTPS_PROXY/HTTP_PROXY to a local listener that records and drops it: nothing reaches the
// internet, and the test sees if anything tried.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Stack, startStack } from './harness.ts';

const require = createRequire(import.meta.url);
/** The launcher that finds the platform's native binary (works without the package's postinstall). */
const WRAPPER = require.resolve('@anthropic-ai/claude-code/cli-wrapper.cjs');
const PROXY_KEY = 'cc-team-key-0123456789';
/** The bar: the error is on screen within 5 s of the refused request (the CLI's own start-up, which
 *  depends on the machine's load, is not counted). Retried, it would take a minute. The hard kill
 *  is later, to report the output of a run that hangs instead of only a timeout. */
const BUDGET_MS = 5000;
const KILL_MS = 30_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  /** Date.now() when the error text appeared on stdout or stderr (null: never). */
  errorAt: number | null;
}

function runClaude(baseUrl: string, home: string, egress: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRAPPER, '-p', 'say hi', '--output-format', 'text'], {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        ANTHROPIC_BASE_URL: baseUrl,
        ANTHROPIC_AUTH_TOKEN: 'not-a-proxy-key',
        ANTHROPIC_MODEL: 'glm-4.6',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        // Anything but the proxy goes to the recording listener.
        HTTPS_PROXY: egress,
        HTTP_PROXY: egress,
        NO_PROXY: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errorAt: number | null = null;
    const onData = (c: Buffer) => {
      out += c;
      if (errorAt === null && /401|invalid proxy API key/i.test(out)) errorAt = Date.now();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const kill = setTimeout(() => child.kill('SIGKILL'), KILL_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, out, errorAt });
    });
  });
}

describe('Claude Code with a wrong proxy key', () => {
  let s: Stack;
  let home: string;
  let egress: Server;
  const tried: string[] = [];
  before(async () => {
    egress = createServer((sock) => {
      sock.once('data', (c) => tried.push(c.toString('latin1').split('\r\n')[0]!));
      sock.on('error', () => {});
      setImmediate(() => sock.destroy());
    });
    await new Promise<void>((r) => egress.listen(0, '127.0.0.1', r));
    s = await startStack({ env: { PROXY_API_KEYS: `team:${PROXY_KEY}` } });
    home = mkdtempSync(join(tmpdir(), 'zai-cc-home-'));
  });
  after(async () => {
    await s.close();
    egress.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('prints the error within 5 s after one request, and nothing reaches Z.AI', async (t) => {
    const port = (egress.address() as { port: number }).port;
    const r = await runClaude(s.url, home, `http://127.0.0.1:${port}`);
    const report = `exit ${r.code ?? r.signal}; output:\n${r.out}`;
    assert.notEqual(r.signal, 'SIGKILL', `Claude Code still ran after ${KILL_MS} ms: ${report}`);
    assert.ok(r.errorAt !== null, `Claude Code did not print the 401: ${report}`);
    const refused = s.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.log === 'access' && l.code === 'UNAUTHORIZED' && l.route === '/v1/messages');
    assert.equal(refused.length, 1, `one /v1/messages request, not retried: ${s.logs.join('')}`);
    const ms = r.errorAt - (refused[0].time as number);
    t.diagnostic(`error printed ${ms} ms after the refused request`);
    assert.ok(ms <= BUDGET_MS, `the error came ${ms} ms after the request: ${report}`);
    assert.equal(s.sim.journal.length, 0);
    assert.deepEqual(tried, [], 'connections Claude Code tried beside the proxy');
  });
});
