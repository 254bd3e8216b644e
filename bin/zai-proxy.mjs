#!/usr/bin/env node
// The `zai-proxy` command: runs the compiled services from dist/ (see scripts/build.mjs).
// Without a command it runs the proxy and the dashboard together, each in its own process, and stops
// both when either stops or on SIGTERM/SIGINT; `proxy` and `dashboard` run one service in this
// process (what the images run); `statusline` prints one line for Claude Code's status bar.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const HELP = `zai-proxy ${pkg.version}: LLM gateway for Z.AI's GLM models, and its dashboard

Usage: zai-proxy [command]

Commands:
  (none)       run the proxy and the dashboard together
  proxy        run the proxy only          (PORT, default 8080)
  dashboard    run the dashboard only      (LISTEN_ADDR, default :8081)
  statusline   print one status line for Claude Code's statusLine setting

Options:
  -h, --help     show this help
  -v, --version  print the version

Both services are configured by environment variables: see docs/configuration.md.
`;

/** Entry module of each command, relative to the package root. */
const ENTRIES = {
  proxy: 'dist/proxy/main.js',
  dashboard: 'dist/dashboard/main.js',
  statusline: 'dist/statusline/main.js',
};

const [command, ...rest] = process.argv.slice(2);

if (command === '-h' || command === '--help' || command === 'help') {
  process.stdout.write(HELP);
} else if (command === '-v' || command === '--version') {
  process.stdout.write(`${pkg.version}\n`);
} else if (command === undefined) {
  runAll();
} else if (Object.hasOwn(ENTRIES, command)) {
  await runOne(command);
} else {
  process.stderr.write(`zai-proxy: unknown command "${command}"\n\n${HELP}`);
  process.exit(2);
}

/** Runs one service in this process: its entry starts it on import. */
async function runOne(name) {
  if (rest.length > 0 && name !== 'statusline') {
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
  await import(pathToFileURL(entry).href);
}

/** Both services as child processes; the first to exit (or a signal) stops the other. */
function runAll() {
  buildIfStale();
  const names = ['proxy', 'dashboard'].filter((n) => existsSync(join(ROOT, ENTRIES[n])));
  if (names.length === 0) {
    process.stderr.write('zai-proxy: dist/ is missing (run `npm run build`)\n');
    process.exit(1);
  }
  const self = fileURLToPath(import.meta.url);
  const children = names.map((n) => ({ n, p: spawn(process.execPath, [self, n], { stdio: 'inherit' }) }));
  let code = null;
  const stopAll = (sig) => {
    for (const c of children) if (c.p.exitCode === null && c.p.signalCode === null) c.p.kill(sig);
  };
  for (const c of children) {
    c.p.on('exit', (exitCode, signal) => {
      code ??= exitCode ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1);
      stopAll('SIGTERM');
      if (children.every((x) => x.p.exitCode !== null || x.p.signalCode !== null)) process.exit(code);
    });
  }
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => stopAll(sig));
}

function isCheckout() {
  return existsSync(join(ROOT, 'scripts', 'build.mjs')) && existsSync(join(ROOT, 'packages'));
}

/** In a source checkout, rebuilds dist/ when a source file is newer than it (esbuild takes < 1 s). */
function buildIfStale() {
  if (!isCheckout()) return;
  const built = join(ROOT, ENTRIES.proxy);
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  if (builtAt > 0 && newestSource(join(ROOT, 'packages')) <= builtAt) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
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
    else if (/\.(ts|mts|mjs|js|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}
