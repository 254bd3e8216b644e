// `npm start`: builds what needs building (the web UI, when its package is there), then runs the
// proxy and the dashboard under one small supervisor. Ctrl-C (or SIGTERM) stops both; a process
// that exits on its own is restarted after a backoff (1 s doubling to 30 s, reset once it has run
// for a minute) and the restart is logged. Environment variables pass through to both processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const say = (msg) => process.stdout.write(`[start] ${msg}\n`);

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

/** Builds packages/web when it exists and its dist is missing or older than its sources. */
function buildWeb() {
  const pkg = join(ROOT, 'packages', 'web');
  if (!existsSync(join(pkg, 'package.json'))) return;
  const scripts = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts ?? {};
  if (scripts.build === undefined) return;
  const index = join(pkg, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(pkg)) return;
  say('building the web UI (npm run build -w @zai-proxy/web)');
  const r = spawnSync('npm', ['run', 'build', '-w', '@zai-proxy/web'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) say('web UI build failed: the dashboard serves its API and a "not built" page');
}

const proxyPort = process.env.PORT || '8080';
const dashAddr = process.env.LISTEN_ADDR || ':8081';
const dashPort = dashAddr.slice(dashAddr.lastIndexOf(':') + 1);
const dashEnv = { SCRAPE_TARGETS: `proxy=http://127.0.0.1:${proxyPort}/metrics`, ...process.env };

const services = [
  {
    name: 'proxy',
    main: 'packages/proxy/src/main.ts',
    env: process.env,
    url: `http://127.0.0.1:${proxyPort}/`,
  },
  {
    name: 'dashboard',
    main: 'packages/dashboard/src/main.ts',
    env: dashEnv,
    url: `http://127.0.0.1:${dashPort}/`,
  },
];

let stopping = false;

function run(svc) {
  const started = Date.now();
  svc.child = spawn(process.execPath, ['--import', 'tsx', svc.main], {
    cwd: ROOT,
    env: svc.env,
    stdio: 'inherit',
  });
  svc.child.on('exit', (code, signal) => {
    svc.child = null;
    if (stopping) return;
    if (Date.now() - started > 60_000) svc.backoff = 1000;
    svc.backoff = Math.min(svc.backoff ?? 1000, 30_000);
    say(`${svc.name} exited (${signal ?? `code ${code}`}); restarting in ${svc.backoff / 1000} s`);
    svc.timer = setTimeout(() => run(svc), svc.backoff);
    svc.backoff *= 2;
  });
}

async function waitReady(svc, path) {
  for (let i = 0; i < 600 && !stopping; i++) {
    try {
      const r = await fetch(new URL(path, svc.url));
      if (r.status < 500) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function stop(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping the proxy and the dashboard`);
  const alive = services.filter((s) => s.child);
  for (const s of services) clearTimeout(s.timer);
  let left = alive.length;
  if (left === 0) process.exit(0);
  const force = setTimeout(() => {
    for (const s of alive) s.child?.kill('SIGKILL');
  }, 35_000);
  for (const s of alive) {
    s.child.once('exit', () => {
      if (--left === 0) {
        clearTimeout(force);
        say('stopped');
        process.exit(0);
      }
    });
    s.child.kill('SIGTERM');
  }
}

process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

buildWeb();
for (const s of services) run(s);
const [proxyUp, dashUp] = await Promise.all([
  waitReady(services[0], '/health'),
  waitReady(services[1], '/healthz'),
]);
if (!stopping) {
  say(`proxy:     ${services[0].url}${proxyUp ? '' : ' (not answering yet)'}`);
  say(`dashboard: ${services[1].url}${dashUp ? '' : ' (not answering yet)'}`);
  say('Ctrl-C stops both');
}
