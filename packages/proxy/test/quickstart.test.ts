// The README's quick start against the simulated Z.AI, run as written: the ```sh quickstart block
// goes to bash in a clean copy of the checkout (tracked files only, so no developer's .env, build
// output or local state), with the environment reduced to PATH and a temp HOME. Only the ports are
// changed (8080 and 9090 become free ones), so tests can run beside a proxy on this machine.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function quickstartBlock(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /```sh quickstart\n([\s\S]*?)```/.exec(readme);
  assert.ok(m !== null, 'README.md has a ```sh quickstart block');
  return m[1]!;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

let clone: string;
before(() => {
  clone = mkdtempSync(join(tmpdir(), 'zai-quickstart-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const f of files.filter((x) => x !== '')) {
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    try {
      copyFileSync(join(ROOT, f), join(clone, f));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted, not yet committed
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules')); // `npm install`, already done
});
after(() => rmSync(clone, { recursive: true, force: true }));

test('the quick start against the simulated upstream works as written', { timeout: 120_000 }, async () => {
  const [proxyPort, simPort] = [await freePort(), await freePort()];
  const script = quickstartBlock().replaceAll('8080', String(proxyPort)).replaceAll('9090', String(simPort));
  const home = join(clone, '.home');
  mkdirSync(home);
  const child = spawn('bash', ['-e', '-c', script], {
    cwd: clone,
    detached: true, // its own process group: the background servers are stopped with it
    env: { PATH: process.env.PATH, HOME: home, npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  try {
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, `the quick start failed:\n${out}\n${err}`);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  // The Anthropic answer, then the OpenAI one, as the simulated Z.AI wrote them.
  const anthropic = /\{"id":"msg_[^\n]*?"type":"message"[^\n]*?\}\}/.exec(out);
  assert.ok(anthropic !== null, `no Anthropic message in:\n${out}\n${err}`);
  assert.match(out, /"object":"chat\.completion"/);
  assert.match(err + out, /Z\.AI proxy listening on :\d+/);
  assert.match(
    err + out,
    new RegExp(`Forwarding Anthropic to http://127\\.0\\.0\\.1:${simPort}/api/anthropic`),
  );
});
