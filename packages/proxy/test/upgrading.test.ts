// docs/upgrading.md against the code: the Go original's variables and series
// (docs/original-contract.json) diffed with the config module and the metrics registry; every
// difference has exactly one row of the right kind in the upgrade notes, and no row is stale.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';
import { createMetrics } from '../src/metrics.ts';

const ROOT = new URL('../../../', import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, ROOT), 'utf8');
const original = JSON.parse(read('docs/original-contract.json')) as {
  variables: { name: string; default: string | null }[];
  metrics: { name: string; type: string; labels: string[]; buckets?: number[] }[];
};
const notes = read('docs/upgrading.md');

/** `| `NAME` | Kind: … |` rows of the table whose header is `| <first> | Change |`. */
function rows(first: string): Map<string, string> {
  const out = new Map<string, string>();
  let inTable = false;
  for (const line of notes.split('\n')) {
    if (line.startsWith(`| ${first} | Change |`)) inTable = true;
    else if (!line.startsWith('|')) inTable = false;
    else if (inTable && !line.startsWith('|---')) {
      const [, name, change] = line.split('|').map((c) => c.trim());
      const m = /^`([A-Za-z0-9_]+)`$/.exec(name!);
      assert.ok(m !== null, `row name ${name} is one backticked name`);
      assert.ok(!out.has(m[1]!), `${m[1]} has one row`);
      out.set(m[1]!, change!);
    }
  }
  return out;
}

const kind = (change: string) =>
  change
    .split(':')[0]!
    .replace(/ \(.*$/, '')
    .replace(/\.$/, '');

test('every changed, unread or new variable has one row of the right kind, and no other row', () => {
  const expected = new Map<string, string>();
  const defaults = loadConfig({}) as Record<string, unknown>;
  for (const v of original.variables) {
    if (!CONFIG_VARIABLES.includes(v.name)) expected.set(v.name, 'Not read yet');
    else if (v.default === null) expected.set(v.name, 'Optional');
    else {
      const parsed = (loadConfig({ ZAI_API_KEY: 'k', [v.name]: v.default }) as Record<string, unknown>)[
        v.name
      ];
      if (JSON.stringify(parsed) !== JSON.stringify(defaults[v.name])) expected.set(v.name, 'Default');
    }
  }
  for (const n of CONFIG_VARIABLES) if (!original.variables.some((v) => v.name === n)) expected.set(n, 'New');
  const documented = rows('Variable');
  for (const [name, k] of expected) {
    assert.ok(documented.has(name), `${name} (${k}) has a row in docs/upgrading.md`);
    assert.equal(kind(documented.get(name)!), k, `${name}: the row says "${k}: …"`);
  }
  for (const name of documented.keys()) assert.ok(expected.has(name), `${name}: the row is stale`);
});

test('every changed, unexported or new series has one row naming each changed label', async () => {
  const registry = createMetrics('x').registry;
  const shapes = registry.getMetricsAsArray() as unknown as {
    name: string;
    labelNames: readonly string[];
    upperBounds?: number[];
    constructor: { name: string };
  }[];
  const expected = new Map<string, { kind: string; words: string[] }>();
  for (const m of original.metrics) {
    const s = shapes.find((x) => x.name === m.name);
    if (s === undefined) {
      expected.set(m.name, { kind: 'Not exported yet', words: [] });
      continue;
    }
    const added = s.labelNames.filter((l) => !m.labels.includes(l));
    const removed = m.labels.filter((l) => !s.labelNames.includes(l));
    const type = s.constructor.name.toLowerCase();
    const bucketsChanged =
      m.buckets !== undefined && JSON.stringify(m.buckets) !== JSON.stringify(s.upperBounds);
    if (added.length + removed.length > 0)
      expected.set(m.name, { kind: 'Labels', words: [...added, ...removed] });
    else if (type !== m.type) expected.set(m.name, { kind: 'Type', words: [type] });
    else if (bucketsChanged) expected.set(m.name, { kind: 'Buckets', words: [] });
  }
  for (const s of shapes)
    if (!original.metrics.some((m) => m.name === s.name) && s.name !== 'zai_proxy_zai_errors_total')
      expected.set(s.name, { kind: 'New', words: [] });
  const documented = rows('Metric');
  for (const [name, e] of expected) {
    assert.ok(documented.has(name), `${name} (${e.kind}) has a row in docs/upgrading.md`);
    const row = documented.get(name)!;
    assert.equal(kind(row), e.kind, `${name}: the row says "${e.kind}: …"`);
    for (const w of e.words) assert.ok(row.includes(`\`${w}\``), `${name}: the row names \`${w}\``);
  }
  for (const name of documented.keys()) assert.ok(expected.has(name), `${name}: the row is stale`);
});

test('the fixture is the original contract: 24 variables and 27 series, each named once', () => {
  assert.equal(new Set(original.variables.map((v) => v.name)).size, 24);
  assert.equal(new Set(original.metrics.map((m) => m.name)).size, 27);
});
