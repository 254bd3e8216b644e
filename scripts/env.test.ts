// Every environment variable the code reads is documented, and every variable a configuration table
// documents is read. "Read" is what the config modules parse (their CONFIG_VARIABLES) plus every
// `process.env.X` / `env.X` in the shipped and runnable code outside them (the `zai-proxy` command,
// the status line, the simulated upstream, the scripts). "Documented" is a backticked name in
// README.md, docs/*.md, bench/README.md or a package README; "a configuration table" is a Markdown
// table whose first column is headed `Variable`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES as DASHBOARD } from '../packages/dashboard/src/config.ts';
import { CONFIG_VARIABLES as PROXY } from '../packages/proxy/src/config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string, keep: (f: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

const isCode = (f: string) => /\.(ts|tsx|mts|mjs|js)$/.test(f) && !/\.test\.tsx?$/.test(f);
const CODE = [
  ...files(join(ROOT, 'packages'), (f) => isCode(f) && /\/packages\/[^/]+\/src\//.test(f)),
  ...files(join(ROOT, 'bin'), isCode),
  ...files(join(ROOT, 'scripts'), isCode),
];
const READS = /\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g;

/** Variable → files that read it outside the config modules. */
const readBy = new Map<string, string[]>();
for (const f of CODE) {
  for (const m of readFileSync(f, 'utf8').matchAll(READS)) {
    const name = (m[1] ?? m[2])!;
    readBy.set(name, [...(readBy.get(name) ?? []), relative(ROOT, f)]);
  }
}
const READ = new Set([...PROXY, ...DASHBOARD, ...readBy.keys()]);

const DOCS = [
  join(ROOT, 'README.md'),
  join(ROOT, 'bench', 'README.md'),
  ...files(join(ROOT, 'docs'), (f) => f.endsWith('.md')),
  ...readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'README.md')),
].filter((f) => {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
});
const text = DOCS.map((f) => readFileSync(f, 'utf8')).join('\n');
const DOCUMENTED = new Set([...text.matchAll(/`([A-Z][A-Z0-9_]*)(?:=[^`]*)?`/g)].map((m) => m[1]!));

/** First-column names of every `| Variable | …` table, with the file they are in. */
function tableVariables(): { name: string; file: string }[] {
  const out: { name: string; file: string }[] = [];
  for (const f of DOCS) {
    let inTable = false;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.startsWith('|')) {
        inTable = false;
        continue;
      }
      const first = line.split('|')[1]!.trim();
      if (first === 'Variable') inTable = true;
      else if (inTable)
        for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g))
          out.push({ name: m[1]!, file: relative(ROOT, f) });
    }
  }
  return out;
}

test('the scan sees the reads outside the config modules', () => {
  // If these disappear the patterns no longer match the code, and the next test proves nothing.
  for (const name of ['PORT', 'ANTHROPIC_BASE_URL', 'SIM_PORT'])
    assert.ok(readBy.has(name), `${name} is read outside the config modules`);
  assert.ok(CODE.some((f) => f.endsWith('bin/zai-proxy.mjs')));
});

test('every variable the code reads is documented', () => {
  const missing = [...READ].filter((v) => !DOCUMENTED.has(v));
  assert.deepEqual(
    missing.map((v) => `${v} (${readBy.get(v)?.join(', ') ?? 'a config module'})`),
    [],
    'documented in README.md or docs/',
  );
});

test('every variable of a configuration table is read by the code', () => {
  const rows = tableVariables();
  assert.ok(rows.length > PROXY.length, 'the tables were found');
  const unread = rows.filter((r) => !READ.has(r.name) && !r.file.endsWith('upgrading.md'));
  assert.deepEqual(
    unread.map((r) => `${r.name} (${r.file})`),
    [],
  );
});
