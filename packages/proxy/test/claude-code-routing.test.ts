// The real Claude Code CLI (the pinned devDependency) through the proxy with a MODEL_MAP: it asks for
// Claude models, the simulated Z.AI receives the mapped GLM models. Claude Code runs in print mode
// with a fresh HOME, none of this process's environment, its non-essential traffic and updater off,
// and an unreachable HTTPS proxy for anything else, so nothing leaves 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sumSamples } from '@zai-proxy/prom-text';
import { type Stack, startStack } from './harness.ts';

const CLAUDE = fileURLToPath(
  new URL('../../../node_modules/@anthropic-ai/claude-code/bin/claude.exe', import.meta.url),
);
const TIMEOUT_MS = 120_000; // a hard stop for a CLI that hangs; a normal run takes a few seconds

let s: Stack | null = null;
const home = mkdtempSync(join(tmpdir(), 'claude-home-'));
after(async () => {
  await s?.close();
  rmSync(home, { recursive: true, force: true });
});

function claude(
  baseUrl: string,
  prompt: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-test-through-the-proxy',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Anything that is not the proxy goes to a closed port.
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  return new Promise((resolve, reject) => {
    // No stdin: in print mode Claude Code would otherwise wait for piped input.
    const child = spawn(CLAUDE, ['-p', prompt], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errOut.push(b));
    const kill = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() });
    });
  });
}

test('Claude Code through the proxy: the upstream sees the mapped GLM models only', async () => {
  s = await startStack({ env: { MODEL_MAP: 'claude-*haiku*=glm-4.5-air,claude-*=glm-4.6' } });
  const run = await claude(s.url, 'Say hello in one word.');
  assert.equal(run.code, 0, `claude exited ${run.code}: ${run.stderr.slice(0, 2000)}`);
  assert.ok(run.stdout.trim().length > 0, 'Claude Code printed the answer');
  const messages = s.sim.journal.filter((e) => e.path === '/api/anthropic/v1/messages');
  assert.ok(messages.length > 0, 'Claude Code sent at least one Messages request');
  const models = new Set(messages.map((e) => (e.json as { model?: unknown }).model));
  assert.ok(models.has('glm-4.6'), `the main model reached Z.AI as glm-4.6 (saw ${[...models].join(', ')})`);
  for (const m of models)
    assert.ok(m === 'glm-4.6' || m === 'glm-4.5-air', `no unmapped model upstream: ${m}`);
  // What Claude Code asked for was a Claude model, every time.
  const text = await s.metricsText();
  assert.equal(
    sumSamples(text, 'zai_proxy_model_routed_total', { reason: 'map' }),
    messages.length,
    'every Messages request was routed',
  );
  assert.ok(
    sumSamples(text, 'zai_proxy_model_routed_total', { model: 'glm-4.6' }) > 0 &&
      sumSamples(text, 'zai_proxy_model_routed_total', { requested_model: 'other' }) === 0,
    'the requests named Claude models',
  );
});
