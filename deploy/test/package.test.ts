// The npm package as a user gets it: built, `npm pack`ed, installed into an empty directory with
// production dependencies only, and run with `npx zai-proxy`. Offline: the install takes the exact
// versions of the repository's lockfile from npm's cache (a lockfile is written beside the tarball,
// as a deployer pinning versions would), so the test never reaches the registry.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { freePort, get, localPrebuilds, type Proc, run, start } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
  bin: Record<string, string>;
  license: string;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};
const KEY = 'zai-pack-test-KEY-7';
/** npm from the cache only, without its update check (both would reach the registry). */
const NPM_ENV = { npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false' };

interface LockEntry {
  dev?: boolean;
  link?: boolean;
  [k: string]: unknown;
}

/** Builds into a staging copy and packs it; returns the tarball's path. */
function pack(stage: string, dest: string): string {
  for (const f of PKG.files.filter((f) => f !== 'dist/')) {
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
  }
  cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
  run(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--out', join(stage, 'dist')], { cwd: ROOT });
  const name = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest], {
    cwd: stage,
    env: { ...process.env, ...NPM_ENV },
  }).trim();
  return join(dest, name);
}

/** package.json + package-lock.json for installing the tarball with the repo's production versions. */
function writeInstallLock(dir: string, tgz: string): void {
  const file = tgz.split('/').at(-1)!;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { dependencies: { [PKG.name]: `file:${file}` } },
    [`node_modules/${PKG.name}`]: {
      version: PKG.version,
      resolved: `file:${file}`,
      integrity,
      license: PKG.license,
      bin: PKG.bin,
      engines: PKG.engines,
      dependencies: PKG.dependencies,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) {
    if (k.startsWith('node_modules/') && !v.dev && !v.link && !k.startsWith('node_modules/@zai-proxy/'))
      packages[k] = v;
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'install-check',
      private: true,
      dependencies: { [PKG.name]: `file:${file}` },
      // npm 11 runs a dependency's install script only when the installing project allows it.
      allowScripts: { 'better-sqlite3': true },
    }),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'install-check', lockfileVersion: 3, requires: true, packages }),
  );
}

describe('npm package', () => {
  let tmp: string;
  let inst: string;
  let sim: SimUpstream;
  const procs: Proc[] = [];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zai-pack-'));
    const stage = join(tmp, 'stage');
    inst = join(tmp, 'install');
    run('mkdir', ['-p', stage, inst]);
    const tgz = pack(stage, inst);
    writeInstallLock(inst, tgz);
    run('npm', ['ci', '--omit=dev', '--no-audit'], {
      cwd: inst,
      env: { ...process.env, ...NPM_ENV, ...localPrebuilds(ROOT, join(tmp, 'prebuilds')) },
    });
    sim = await startSimUpstream({ apiKey: KEY });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await sim?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const npx = (args: string[], env: Record<string, string> = {}) => {
    const p = start('npx', ['zai-proxy', ...args], {
      cwd: inst,
      env: { PATH: process.env.PATH, HOME: tmp, ...NPM_ENV, ...env },
    });
    procs.push(p);
    return p;
  };

  test('installs production dependencies only: no tsx, no TypeScript, no test tools', () => {
    const installed = readdirSync(join(inst, 'node_modules'));
    for (const dev of ['tsx', 'typescript', 'esbuild', '@biomejs', 'tiktoken', '@zai-proxy'])
      assert.ok(!installed.includes(dev), `${dev} is not installed`);
    for (const dep of Object.keys(PKG.dependencies))
      assert.ok(existsSync(join(inst, 'node_modules', dep)), `${dep} installed`);
    const dist = join(inst, 'node_modules', PKG.name, 'dist');
    const shipped = readdirSync(join(dist, 'proxy'));
    assert.ok(shipped.includes('main.js') && shipped.includes('token-worker.mjs'));
    assert.ok(!shipped.some((f) => f.endsWith('.ts')), 'no TypeScript source shipped');
    for (const f of ['dashboard/main.js', 'statusline/statusline.mjs', 'web/index.html'])
      assert.ok(existsSync(join(dist, f)), `dist/${f} shipped`);
    assert.ok(!existsSync(join(inst, 'node_modules', PKG.name, 'packages')), 'no sources shipped');
  });

  test('--version prints the package version; --help names every command', async () => {
    const v = npx(['--version']);
    assert.equal(await v.exited(), 0);
    assert.equal(v.output().trim(), PKG.version);
    const h = npx(['--help']);
    await h.waitFor(/statusline/);
    for (const cmd of ['proxy', 'dashboard', 'statusline', '--version'])
      assert.match(h.output(), new RegExp(cmd));
    const bad = npx(['frobnicate']);
    assert.equal(await bad.exited(), 2);
    assert.match(bad.output(), /unknown command "frobnicate"/);
  });

  test('`npx zai-proxy` serves both: /healthz of each, /health with the package version, the web UI at /', async () => {
    const [port, dashPort] = [await freePort(), await freePort()];
    const p = npx([], {
      HOST: '127.0.0.1',
      PORT: String(port),
      LISTEN_ADDR: `127.0.0.1:${dashPort}`,
      DB_PATH: join(tmp, 'dashboard.db'),
      RATE_LIMIT_STATE_FILE: join(tmp, 'admission-state.json'),
      ZAI_API_KEY: KEY,
      ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
    });
    await p.waitFor(/\[zai-proxy\] dashboard: +http:\/\/127\.0\.0\.1:\d+\/\n/);
    assert.match(p.output(), new RegExp(`\\[zai-proxy\\] proxy: +http://127\\.0\\.0\\.1:${port}/\n`));
    const base = `http://127.0.0.1:${port}`;
    const dash = `http://127.0.0.1:${dashPort}`;
    assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: '{"status":"ok"}' });
    assert.deepEqual(await get(`${dash}/healthz`), { status: 200, body: '{"status":"ok"}' });
    const health = JSON.parse((await get(`${base}/health`)).body) as { version: string };
    assert.equal(health.version, PKG.version);
    const dashConfig = JSON.parse((await get(`${dash}/api/config`)).body) as { version: string };
    assert.equal(dashConfig.version, PKG.version, 'the dashboard reports the same version');
    const ui = await get(`${dash}/`);
    assert.equal(ui.status, 200);
    assert.equal(
      ui.body,
      readFileSync(join(inst, 'node_modules', PKG.name, 'dist', 'web', 'index.html'), 'utf8'),
      "the dashboard serves the web UI's build, not a 'not built' page",
    );
    const r = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 200, 'a request goes through the installed proxy');
    assert.equal(((await r.json()) as { type: string }).type, 'message');

    const line = npx(['statusline', `--url=${base}`, `--cache-file=${join(tmp, 'statusline.json')}`]);
    assert.equal(await line.exited(), 0);
    assert.match(line.output(), /^Z\.AI .+\n$/, 'statusline prints one line');
    assert.doesNotMatch(line.output(), /down/);

    p.signal('SIGTERM'); // as a terminal's Ctrl-C or a service manager: to the whole group
    await p.closed(); // npx may exit first; the services finish on their own
    assert.match(p.output(), /"service":"zai-proxy"[^\n]*"msg":"Shutdown complete"/);
    assert.match(p.output(), /"service":"zai-dashboard"[^\n]*"msg":"Shutdown complete"/);
    assert.ok(!p.output().includes(KEY), 'the key is never logged');
  });
});
