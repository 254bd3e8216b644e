// Runs every test of the repository and ends with one `N passed, N failed` line over all runners:
// node:test (via tsx) for every *.test.ts under packages/ and bench/, and vitest for a package that
// has a vitest.config.* (its browser-facing unit tests; its e2e/ folder still runs under node:test,
// since those drive real processes and a real browser). Arguments: run only these files, under node:test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage']);
const isVitestPackage = (dir) => readdirSync(dir).some((n) => /^vitest\.config\.[cm]?[jt]s$/.test(n));

/** *.test.ts files under dir; inside a vitest package only its e2e/ folder. */
function find(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (dir === 'packages' && isVitestPackage(p)) {
        vitestPackages.push(p);
        if (existsSync(join(p, 'e2e'))) find(join(p, 'e2e'), out);
      } else find(p, out);
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const vitestPackages = [];
const only = process.argv.slice(2);
const files =
  only.length > 0 ? only : find('scripts', find('deploy', find('bench', find('packages', [])))).sort();
const tmp = mkdtempSync(join(tmpdir(), 'zai-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;

if (files.length > 0) {
  const tap = join(tmp, 'node.tap');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { stdio: 'inherit' },
  );
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => Number([...text.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped') + count('todo');
  if (r.status !== 0) ok = false;
  if (text === '') {
    console.error('node:test produced no report');
    ok = false;
  }
}

if (only.length === 0) {
  for (const pkg of vitestPackages) {
    const out = join(tmp, `${pkg.replaceAll('/', '_')}.json`);
    const r = spawnSync(
      process.execPath,
      [
        join('node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--root',
        pkg,
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${out}`,
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) ok = false;
    if (!existsSync(out)) {
      console.error(`vitest in ${pkg} produced no report`);
      ok = false;
      continue;
    }
    const j = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += j.numPassedTests;
    totals.failed += j.numFailedTests;
    totals.skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  }
}

rmSync(tmp, { recursive: true, force: true });
if (totals.passed + totals.failed === 0) {
  console.error('no tests ran');
  ok = false;
}
if (totals.failed > 0) ok = false;
console.log(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ''}`,
);
process.exit(ok ? 0 : 1);
