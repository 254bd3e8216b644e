// The composition exists once: only src/app.ts constructs the server, the metrics and the modules,
// and every way of running the proxy (process, tests, demo, bench) goes through it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;
const COMPOSITION_ROOT = 'packages/proxy/src/app.ts';

/** Constructors only the composition root may call. */
const CONSTRUCTORS = [
  /\bcreateHttpServer\(/,
  /\bcreateMetrics\(/,
  /\bcreateAccounting\(/,
  /\bcreate\w*Admission\(/,
  /\bcreateUpstreamClient\(/,
  /\bcreateSignalFanout\(/,
  /\bcreateAuth\(/,
  /\bcreateOpsRoutes\(/,
  /\bcreateRequestMetrics\(/,
  /\bcreateServer\(/,
];
/** Files that run a proxy; each must build it with buildProxy. */
const RUNNERS = [
  'packages/proxy/src/main.ts',
  'packages/proxy/test/harness.ts',
  'scripts/demo.ts',
  'bench/proxy-process.ts',
];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.m?ts$/.test(name) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('composition', () => {
  test('only the composition root constructs the server, metrics and modules', () => {
    const files = ['packages/proxy/src', 'packages/proxy/test', 'scripts', 'bench'].flatMap((d) =>
      sources(join(ROOT, d)),
    );
    assert.ok(files.length > 20);
    const offenders: string[] = [];
    for (const f of files) {
      const rel = relative(ROOT, f);
      if (rel === COMPOSITION_ROOT) continue;
      // Definitions (`export function createX(`) are not calls.
      const text = readFileSync(f, 'utf8').replace(/function \w+\(/g, '');
      for (const re of CONSTRUCTORS) if (re.test(text)) offenders.push(`${rel}: ${re.source}`);
    }
    // The HTTP server module constructs node's server; that is its job, not composition. The Redis
    // test helper opens a node:net server only to find a free port.
    const allowed = [
      'packages/proxy/src/http/server.ts: \\bcreateServer',
      'packages/proxy/test/redis-server.ts: \\bcreateServer',
    ];
    assert.deepEqual(
      offenders.filter((o) => !allowed.some((a) => o.startsWith(a))),
      [],
    );
    const root = readFileSync(join(ROOT, COMPOSITION_ROOT), 'utf8');
    for (const re of CONSTRUCTORS) {
      if (re.source.includes('Admission') || re.source.includes('createServer')) continue; // none yet; http/server.ts
      assert.match(root, re, `app.ts calls ${re.source}`);
    }
  });

  test('the process, the tests, the demo and the bench all build the proxy with buildProxy', () => {
    for (const f of RUNNERS) assert.match(readFileSync(join(ROOT, f), 'utf8'), /\bbuildProxy\(/, f);
  });

  test('a source file over 320 lines says in the package README why it stays one file', () => {
    const readme = readFileSync(join(ROOT, 'packages/proxy/README.md'), 'utf8');
    const src = join(ROOT, 'packages/proxy/src');
    const long = sources(src)
      .map((f) => ({ rel: relative(src, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 320 && !f.rel.includes('fixtures/'));
    const unexplained = long.filter((f) => !readme.includes(`| \`${f.rel}\` |`));
    assert.deepEqual(unexplained, [], 'add a row to "Files over 300 lines, and why" or split the file');
  });

  test('the package entry starts nothing', async () => {
    // Servers, sockets and timers; not the module loader's own file reads (Node 24 may still have
    // one in flight when the import resolves).
    const live = () =>
      process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && !r.startsWith('FSReq'));
    const before = live();
    const signals = process.listenerCount('SIGTERM');
    const entry = await import('@zai-proxy/proxy');
    assert.equal(typeof entry.buildProxy, 'function');
    assert.equal(process.listenerCount('SIGTERM'), signals, 'no signal handlers');
    const after = live();
    assert.deepEqual(after, before, 'no server, socket or timer');
  });
});
