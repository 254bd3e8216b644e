// Production build: each service bundled by esbuild into dist/<service>/main.js, so `npm start`, the
// `zai-proxy` command and the images run plain JavaScript with production dependencies only (tsx
// stays a dev tool). Workspace packages (@zai-proxy/*) are bundled in; every other package stays an
// import resolved from node_modules at run time and must be a dependency of the root package, which
// is what `npm pack` ships (checked here, so a new import cannot ship without its dependency).
// Beside them: dist/web, the web UI (vite), which the dashboard bundle serves from ../web; and
// dist/statusline, the plain-Node status line (no dependencies, copied as it is).
// Usage: node scripts/build.mjs [--out DIR] [target…] (default: dist/, every target whose source exists).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..');
const at = (p) => join(ROOT, p);

/** The services; `assets` are files the bundle loads by URL at run time, copied beside it. */
const SERVICES = [
  {
    name: 'proxy',
    entry: 'packages/proxy/src/main.ts',
    // The token worker is a separate thread started from a file URL; it imports cl100k-count.mjs.
    assets: ['packages/proxy/src/usage/token-worker.mjs', 'packages/proxy/src/usage/cl100k-count.mjs'],
  },
  { name: 'dashboard', entry: 'packages/dashboard/src/main.ts', assets: [] },
  // Copied, not bundled: it imports node: modules only and must start in tens of milliseconds.
  { name: 'statusline', entry: 'packages/proxy/src/cli/statusline.mjs', assets: [], copy: true },
  // The web UI: built by vite straight into dist/web (packages/web/dist stays the dev build's).
  { name: 'web', entry: 'packages/web/index.html', assets: [], vite: 'packages/web' },
];

const rootPkg = JSON.parse(readFileSync(at('package.json'), 'utf8'));
const rootDeps = { ...rootPkg.dependencies, ...rootPkg.optionalDependencies };
const builtins = new Set(builtinModules);

/** Bare package name of an import specifier (`gpt-tokenizer/encoding/x` → `gpt-tokenizer`). */
const packageName = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

const externals = {
  name: 'externals',
  setup(b) {
    // Loaded by the bundle from beside it (see assets), not inlined: one copy for thread and worker.
    b.onResolve({ filter: /\/cl100k-count\.mjs$/ }, () => ({ path: './cl100k-count.mjs', external: true }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || builtins.has(args.path)) return { external: true };
      if (args.path.startsWith('@zai-proxy/')) return undefined; // bundled
      return { path: args.path, external: true };
    });
  },
};

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const OUT = outAt === -1 ? at('dist') : args.splice(outAt, 2)[1];
const wanted = args;
const unknown = wanted.filter((w) => !SERVICES.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(`build: unknown service ${unknown.join(', ')} (known: ${SERVICES.map((s) => s.name)})`);
  process.exit(2);
}
const services = SERVICES.filter((s) =>
  wanted.length > 0 ? wanted.includes(s.name) : existsSync(at(s.entry)),
);

let failed = false;
for (const s of services) {
  const outdir = join(OUT, s.name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  if (s.vite !== undefined) {
    const vite = at('node_modules/vite/bin/vite.js');
    const r = spawnSync(
      process.execPath,
      [vite, 'build', '--logLevel', 'warn', '--outDir', outdir, '--emptyOutDir'],
      {
        cwd: at(s.vite),
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (r.status !== 0 || !existsSync(join(outdir, 'index.html'))) {
      console.error(`build: ${s.name}: vite build failed`);
      failed = true;
    } else console.log(`build: ${join(outdir, 'index.html')}`);
    continue;
  }
  if (s.copy) s.assets.push(s.entry);
  const r = s.copy
    ? null
    : await build({
        absWorkingDir: ROOT,
        entryPoints: [s.entry],
        outfile: join(outdir, 'main.js'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20.19',
        // Unminified: stack traces stay readable without source maps.
        minify: false,
        legalComments: 'none',
        metafile: true,
        logLevel: 'warning',
        plugins: [externals],
      });
  for (const a of s.assets) copyFileSync(at(a), join(outdir, a.split('/').at(-1)));
  const imported = new Set();
  for (const out of Object.values(r?.metafile.outputs ?? {}))
    for (const i of out.imports) if (i.external && !i.path.startsWith('.')) imported.add(i.path);
  for (const a of s.assets)
    for (const m of readFileSync(at(a), 'utf8').matchAll(/from '([^'.][^']*)'/g)) imported.add(m[1]);
  const missing = [...imported]
    .filter((p) => !p.startsWith('node:') && !builtins.has(p))
    .map(packageName)
    .filter((p) => !Object.hasOwn(rootDeps, p));
  if (missing.length > 0) {
    console.error(
      `build: ${s.name} imports ${[...new Set(missing)].join(', ')}: add to the root dependencies`,
    );
    failed = true;
  }
  if (r === null) {
    console.log(`build: ${join(outdir, s.entry.split('/').at(-1))}`);
    continue;
  }
  const bytes = Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`build: ${join(outdir, 'main.js')} (${(bytes / 1024).toFixed(0)} KiB)`);
}
process.exit(failed ? 1 : 0);
