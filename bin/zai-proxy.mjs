#!/usr/bin/env node
// The `zai-proxy` command: runs the compiled services from dist/ (see scripts/build.mjs).
// Without a command it supervises the proxy and the dashboard, each in its own process (what
// `npm start` runs); `proxy` and `dashboard` run one service in this process (what the images run);
// `statusline` prints one line for Claude Code's status bar.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const HELP = `zai-proxy ${pkg.version}: LLM gateway for Z.AI's GLM models, and its dashboard

Usage: zai-proxy [command]

Commands:
  (none)       run the proxy and the dashboard together; a service that crashes is restarted
  proxy        run the proxy only          (PORT, default 8080)
  dashboard    run the dashboard only      (LISTEN_ADDR, default :8081)
  statusline   print one status line for Claude Code's statusLine setting
               --url=http://127.0.0.1:8080   the proxy (default: ANTHROPIC_BASE_URL's origin, else :8080)
               --cache-ms=5000 --timeout-ms=500 --cache-file=<path>

Options:
  -h, --help     show this help
  -v, --version  print the version

Both services are configured by environment variables: see docs/configuration.md.
`;

/** Entry module of each service, relative to the package root. */
const ENTRIES = {
  proxy: 'dist/proxy/main.js',
  dashboard: 'dist/dashboard/main.js',
};
/** The status line is plain Node with no dependencies: from the checkout's source when there is one. */
const STATUSLINE = ['packages/proxy/src/cli/statusline.mjs', 'dist/statusline/statusline.mjs'];

const [command, ...rest] = process.argv.slice(2);

if (command === '-h' || command === '--help' || command === 'help') {
  process.stdout.write(HELP);
} else if (command === '-v' || command === '--version') {
  process.stdout.write(`${pkg.version}\n`);
} else if (command === 'statusline') {
  const file = STATUSLINE.map((f) => join(ROOT, f)).find((f) => existsSync(f));
  const { main } = await import(pathToFileURL(file).href);
  await main(rest);
} else if (command === undefined) {
  supervise();
} else if (Object.hasOwn(ENTRIES, command)) {
  await runOne(command);
} else {
  process.stderr.write(`zai-proxy: unknown command "${command}"\n\n${HELP}`);
  process.exit(2);
}

/** Runs one service in this process: its entry starts it on import. */
async function runOne(name) {
  if (rest.length > 0) {
    process.stderr.write(`zai-proxy ${name}: takes no arguments (configure it with environment variables)\n`);
    process.exit(2);
  }
  const entry = join(ROOT, ENTRIES[name]);
  buildIfStale();
  if (!existsSync(entry)) {
    process.stderr.write(
      `zai-proxy: ${ENTRIES[name]} is missing: this build has no ${name}` +
        (isCheckout() ? ' (run `npm run build`)\n' : '\n'),
    );
    process.exit(1);
  }
  // The build info defaults to the package version; an image or operator may set it explicitly.
  process.env.ZAI_PROXY_VERSION ||= pkg.version;
  // The service reads its own arguments (`--help`, `--version`): it gets none, not the command name.
  process.argv = [process.argv[0], entry];
  await import(pathToFileURL(entry).href);
}

const say = (msg) => process.stdout.write(`[zai-proxy] ${msg}\n`);
/** A service that exits this soon after it was started failed to start (bad config, port taken). */
const START_FAILURE_MS = 5_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A service that ran this long before it crashed is restarted after the shortest backoff again. */
const BACKOFF_RESET_MS = 60_000;

/**
 * Both services as child processes, with the environment passed through. A service that fails to
 * start stops everything (a restart would fail the same way); one that crashes later is restarted
 * after a backoff (1 s doubling to 30 s). SIGINT/SIGTERM stop both gracefully; a second signal is
 * passed on (the proxy then stops waiting for load balancers), a third kills them.
 */
function supervise() {
  buildIfStale();
  const names = Object.keys(ENTRIES).filter((n) => existsSync(join(ROOT, ENTRIES[n])));
  if (names.length === 0) {
    process.stderr.write('zai-proxy: dist/ is missing (run `npm run build`)\n');
    process.exit(1);
  }
  const proxyPort = process.env.PORT || '8080';
  const dashAddr = process.env.LISTEN_ADDR || ':8081';
  const dashPort = dashAddr.slice(dashAddr.lastIndexOf(':') + 1);
  // On a laptop no load balancer needs the proxy's 5 s of /readyz 503 before it stops.
  const env = { SHUTDOWN_DELAY: '0', ...process.env };
  const services = {
    proxy: { env, url: `http://127.0.0.1:${proxyPort}/`, ready: '/healthz' },
    dashboard: {
      env: { SCRAPE_TARGETS: `proxy=http://127.0.0.1:${proxyPort}/metrics`, ...env },
      url: `http://127.0.0.1:${dashPort}/`,
      ready: '/healthz',
    },
  };
  const self = fileURLToPath(import.meta.url);
  const running = new Map();
  let signals = 0;
  let exitCode = 0;

  const launch = (name, backoff) => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [self, name], { env: services[name].env, stdio: 'inherit' });
    running.set(name, child);
    child.on('exit', (code, signal) => {
      running.delete(name);
      const ranMs = Date.now() - startedAt;
      if (signals > 0 || (backoff === null && ranMs < START_FAILURE_MS)) {
        if (signals === 0) {
          say(`${name} did not start (${signal ?? `exit code ${code}`}): stopping`);
          exitCode = code || 1;
          stopAll('SIGTERM');
        }
        if (running.size === 0) process.exit(exitCode);
        return;
      }
      const wait = ranMs >= BACKOFF_RESET_MS || backoff === null ? BACKOFF_MIN_MS : backoff;
      say(`${name} exited (${signal ?? `exit code ${code}`}); restarting in ${wait / 1000} s`);
      const timer = setTimeout(() => launch(name, Math.min(wait * 2, BACKOFF_MAX_MS)), wait);
      running.set(name, { timer });
    });
  };
  const stopAll = (sig) => {
    signals++;
    for (const [name, c] of running) {
      if (c.timer !== undefined) {
        clearTimeout(c.timer);
        running.delete(name);
      } else c.kill(signals >= 3 ? 'SIGKILL' : sig);
    }
    if (running.size === 0) process.exit(exitCode);
  };
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => stopAll(sig));

  // The proxy first, so the dashboard's first scrape finds it up.
  void (async () => {
    const up = [];
    for (const n of names) {
      if (signals > 0) return;
      launch(n, null);
      up.push(await answers(`${services[n].url}${services[n].ready.slice(1)}`, () => running.has(n)));
    }
    if (signals > 0) return;
    for (const [i, n] of names.entries())
      say(`${`${n}:`.padEnd(11)}${services[n].url}${up[i] ? '' : ' (not answering yet)'}`);
    say('Ctrl-C stops both');
  })();
}

/** Polls url until it answers below 500 (up to a minute, while alive()); false if it never does. */
async function answers(url, alive) {
  for (let i = 0; i < 600 && alive(); i++) {
    try {
      if ((await fetch(url)).status < 500) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function isCheckout() {
  return existsSync(join(ROOT, 'scripts', 'build.mjs')) && existsSync(join(ROOT, 'packages'));
}

/** In a source checkout, rebuilds dist/ when a source file is newer than it (about 2 s). */
function buildIfStale() {
  if (!isCheckout()) return;
  const built = [ENTRIES.proxy, ENTRIES.dashboard, 'dist/web/index.html'].map((f) => join(ROOT, f));
  const builtAt = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  if (builtAt > 0 && newestSource(join(ROOT, 'packages')) <= builtAt) return;
  // On stderr: stdout carries the services' JSON log lines only.
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write('zai-proxy: the build failed (it needs the dev dependencies: npm ci)\n');
    process.exit(1);
  }
}

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|tsx|mts|mjs|js|json|css|html)$/.test(e.name))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}
