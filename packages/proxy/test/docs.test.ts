// The operator docs (docs/*.md, README.md) checked against the code, so they cannot drift from it:
// every variable, metric, error code and exact log line they name exists, and every one of them is
// documented. Conventions the docs follow for this test:
// - env variables are written as UPPER_CASE_WITH_UNDERSCORES;
// - metric tables have a header `| Metric | Type | Labels | …` (and optionally `Buckets`);
// - lines inside ```log blocks are exact `msg` texts of log lines; `…` and `<…>` are placeholders;
// - ```json pricing blocks are price tables, as PRICING_FILE would hold them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';
import { ERRORS, type ErrorCode, GatewayError } from '../src/errors.ts';
import { createMetrics } from '../src/metrics.ts';
import { anthropic } from '../src/routes/anthropic.ts';
import { openai } from '../src/routes/openai.ts';
import { parsePriceTable } from '../src/usage/index.ts';

const ROOT = new URL('../../../', import.meta.url);
const SRC = new URL('packages/proxy/src/', ROOT);
const read = (rel: string, base: URL = ROOT) => readFileSync(new URL(rel, base), 'utf8');
// docs/dashboard*.md document the dashboard service; packages/dashboard/test/docs.test.ts checks them.
const DOCS = readdirSync(new URL('docs/', ROOT))
  .filter((f) => f.endsWith('.md') && !f.startsWith('dashboard'))
  .sort()
  .map((f) => ({ name: `docs/${f}`, text: read(`docs/${f}`) }));
const doc = (name: string) => {
  const d = DOCS.find((x) => x.name === `docs/${name}`);
  assert.ok(d !== undefined, `docs/${name} exists`);
  return d.text;
};
const README = { name: 'README.md', text: read('README.md') };

// --- Markdown helpers ------------------------------------------------------------------------------

interface Fence {
  info: string;
  lines: string[];
}

/** Fenced code blocks (also indented ones inside list items), each with its info string. */
function fences(md: string): Fence[] {
  const out: Fence[] = [];
  let open: (Fence & { indent: number }) | null = null;
  for (const line of md.split('\n')) {
    const m = /^(\s*)```(.*)$/.exec(line);
    if (open === null) {
      if (m !== null) open = { info: m[2]!.trim(), lines: [], indent: m[1]!.length };
    } else if (m !== null && m[2]!.trim() === '') {
      out.push({ info: open.info, lines: open.lines });
      open = null;
    } else {
      open.lines.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
    }
  }
  assert.equal(open, null, 'every code fence is closed');
  return out;
}

/** Rows (cells, trimmed) of every table whose header row starts with the given cells. */
function tableRows(md: string, header: string[]): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line
      .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
      .split('|')
      .map((c) => c.trim());
    if (header.every((h, i) => cells[i] === h)) {
      inTable = true;
      continue;
    }
    if (inTable && !/^-+$/.test(cells[0]!.replace(/:/g, ''))) rows.push(cells);
  }
  return rows;
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

// --- (a) configuration -------------------------------------------------------------------------------

/** Env-variable-looking names the docs may use although the proxy does not read them. */
const NON_PROXY_NAMES: Record<string, string> = {
  // Client side: what Claude Code and the SDKs read to reach the proxy (README, configuration.md).
  ANTHROPIC_BASE_URL: 'client',
  ANTHROPIC_AUTH_TOKEN: 'client',
  ANTHROPIC_API_KEY: 'client', // the status line's fallback for the account name (quota.md)
  OPENAI_BASE_URL: 'client',
  OPENAI_API_KEY: 'client',
  // The README's example of a misspelt variable and the warning it gets.
  TOKEN_COUNTING_ENABLE: 'typo example',
  // Claude Code's per-user model settings, which MODEL_MAP replaces (model-routing.md).
  ANTHROPIC_DEFAULT_OPUS_MODEL: 'client',
  ANTHROPIC_DEFAULT_SONNET_MODEL: 'client',
  ANTHROPIC_DEFAULT_HAIKU_MODEL: 'client',
  ANTHROPIC_SMALL_FAST_MODEL: 'client',
  ANTHROPIC_MODEL: 'client',
  CLAUDE_CODE_SUBAGENT_MODEL: 'client',
  // The simulated upstream's CLI (npm run upstream:sim), used by the local test recipes.
  SIM_PORT: 'testkit',
  // Kubernetes service-link variables, named to say the proxy does not warn about them.
  ZAI_PROXY_SERVICE_HOST: 'kubernetes',
  ZAI_PROXY_PORT: 'kubernetes',
  ZAI_PROXY_PORT_8080_TCP_ADDR: 'kubernetes',
  // The test runner's parallelism (README, Development).
  TEST_CONCURRENCY: 'tests',
  // The original's variables, named only to say this proxy ignores them.
  QUOTA_MAX_RESPONSE_BYTES: 'original',
  // Entry types of Z.AI's quota payload (quota.md, metrics.md).
  TOKENS_LIMIT: 'provider',
  CREDIT_LIMIT: 'provider',
  TIME_LIMIT: 'provider',
};

const ENV_NAME = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g;

/** The Go original's variables and series (docs/original-contract.json): the upgrade notes name them all. */
const ORIGINAL = JSON.parse(read('docs/original-contract.json')) as {
  variables: { name: string }[];
  metrics: { name: string }[];
};
const ORIGINAL_VARIABLES = new Set(ORIGINAL.variables.map((v) => v.name));

describe('docs: configuration', () => {
  const cfgDoc = doc('configuration.md');

  test('every variable in CONFIG_VARIABLES is documented in docs/configuration.md', () => {
    for (const name of CONFIG_VARIABLES) assert.ok(cfgDoc.includes(`\`${name}\``), `${name} documented`);
  });

  test('every env-variable-looking name in the docs is a proxy variable or an allowed non-proxy name', () => {
    const used = new Set<string>();
    for (const d of [...DOCS, README]) {
      for (const [name] of d.text.matchAll(ENV_NAME)) {
        used.add(name);
        // Error codes (BODY_TOO_LARGE…) look the same; they are checked against ERRORS below.
        if (Object.hasOwn(ERRORS, name)) continue;
        assert.ok(
          CONFIG_VARIABLES.includes(name) ||
            Object.hasOwn(NON_PROXY_NAMES, name) ||
            ORIGINAL_VARIABLES.has(name),
          `${d.name} names ${name}, which the proxy does not read (add it to config.ts or fix the doc)`,
        );
      }
    }
    for (const name of Object.keys(NON_PROXY_NAMES)) {
      assert.ok(
        !CONFIG_VARIABLES.includes(name),
        `${name} is now a proxy variable: drop it from the allowlist`,
      );
      assert.ok(used.has(name), `${name} is allowed but no doc uses it: drop it from the allowlist`);
    }
  });

  test('each variable has one row in a Variable/Type/Default table, and its documented default is the default', () => {
    const rows = tableRows(cfgDoc, ['Variable', 'Type', 'Default']);
    const defaults = loadConfig({}) as Record<string, unknown>;
    for (const name of CONFIG_VARIABLES) {
      const mine = rows.filter((r) => r[0] === `\`${name}\``);
      assert.equal(mine.length, 1, `${name}: exactly one table row`);
      const [value] = backticked(mine[0]![2]!);
      const actual = defaults[name];
      if (value === undefined) {
        // "unset" / "empty": no default value.
        assert.ok(
          actual === undefined || (Array.isArray(actual) && actual.length === 0),
          `${name}: documented without a default but defaults to ${String(actual)}`,
        );
      } else {
        const parsed = (loadConfig({ ZAI_API_KEY: 'k', [name]: value }) as Record<string, unknown>)[name];
        assert.deepEqual(parsed, actual, `${name}: documented default \`${value}\``);
      }
    }
  });

  test('the documented price tables parse with parsePriceTable', () => {
    const tables = fences(cfgDoc).filter((f) => f.info === 'json pricing');
    assert.ok(tables.length > 0, 'configuration.md has a ```json pricing example');
    for (const t of tables) parsePriceTable(t.lines.join('\n'));
    const inline = [...cfgDoc.matchAll(/^PRICING_JSON='(.*)'$/gm)];
    assert.ok(inline.length > 0, 'configuration.md has an inline PRICING_JSON example');
    for (const m of inline) parsePriceTable(m[1]!);
  });
});

// --- (b) metrics -------------------------------------------------------------------------------------

/** Series of the original's contract that this proxy does not export; metrics.md lists them as such. */
const NOT_EXPORTED_ORIGINAL = new Set(['zai_proxy_quota_rate_cap']);

interface MetricShape {
  name: string;
  type: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
}

describe('docs: metrics', async () => {
  const registry = createMetrics('x').registry;
  const registered = (await registry.getMetricsAsJSON()).map((m) => m.name);
  const shapes = registry.getMetricsAsArray() as unknown as MetricShape[];
  const metricsDoc = doc('metrics.md');

  test('every registered metric is documented in docs/metrics.md', () => {
    assert.ok(registered.length > 0);
    for (const name of registered) assert.ok(metricsDoc.includes(`\`${name}\``), `${name} documented`);
  });

  test('every zai_proxy_* name in the docs and README is a registered metric', () => {
    for (const d of [...DOCS, README]) {
      // Recording-rule names (`variant:zai_proxy_requests:rate5m`) are not series of the proxy.
      for (const [token] of d.text.matchAll(/(?<![:\w])zai_proxy_[a-z_]+(?![:\w])/g)) {
        const base = registered.includes(token) ? token : token.replace(/_(bucket|sum|count)$/, '');
        if (registered.includes(base)) continue;
        assert.ok(
          NOT_EXPORTED_ORIGINAL.has(token) && d.name.startsWith('docs/'),
          `${d.name} names ${token}, which is not a registered metric`,
        );
      }
    }
    for (const name of NOT_EXPORTED_ORIGINAL) {
      assert.ok(!registered.includes(name), `${name} is exported now: document it and drop it from the list`);
    }
  });

  test('type, labels and buckets in the metric tables match the registry', () => {
    const rows = tableRows(metricsDoc, ['Metric', 'Type', 'Labels']);
    const bucketRows = tableRows(metricsDoc, ['Metric', 'Type', 'Labels', 'Buckets']);
    for (const m of shapes) {
      const row = rows.find((r) => r[0] === `\`${m.name}\``);
      assert.ok(row !== undefined, `${m.name} has a row in a Metric/Type/Labels table`);
      assert.equal(row[1], m.type, `${m.name}: type`);
      assert.deepEqual(backticked(row[2]!).sort(), [...m.labelNames].sort(), `${m.name}: labels`);
      const b = bucketRows.find((r) => r[0] === `\`${m.name}\``);
      if (m.type === 'histogram') {
        assert.ok(b !== undefined, `${m.name}: histogram documented with its buckets`);
        assert.deepEqual(b[3]!.split(/\s+/).map(Number), [...m.buckets!], `${m.name}: buckets`);
      }
    }
  });
});

// --- (c) errors --------------------------------------------------------------------------------------

describe('docs: errors', () => {
  const errorsDoc = doc('errors.md');

  test('every error code is documented with its status and envelope types', () => {
    const rows = tableRows(errorsDoc, ['Code', 'Status']);
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      assert.ok(errorsDoc.includes(`\`${code}\``), `${code} documented`);
      const row = rows.find((r) => r[0] === `\`${code}\``);
      assert.ok(row !== undefined, `${code} has a row in the error table`);
      const e = new GatewayError(code);
      const a = JSON.parse(anthropic.errorBody(e)) as { error: { type: string } };
      const o = JSON.parse(openai.errorBody(e)) as { error: { type: string; code: string } };
      assert.equal(Number(row[1]), ERRORS[code].status, `${code}: status`);
      assert.equal(row[2], `\`${a.error.type}\``, `${code}: Anthropic type`);
      assert.equal(row[3], `\`${o.error.type}\``, `${code}: OpenAI type`);
      assert.equal(row[4], `\`${o.error.code}\``, `${code}: OpenAI code`);
    }
  });
});

// --- (d) log lines -----------------------------------------------------------------------------------

const WILD: unique symbol = Symbol('wildcard');
type Pattern = Array<string | typeof WILD>;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

function sourceFiles(dir: URL): URL[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return sourceFiles(new URL(`${e.name}/`, dir));
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [new URL(e.name, dir)] : [];
  });
}

/** Alternatives for one `${…}`: both branches of `cond ? 'a' : 'b'`, else a wildcard. */
function alternatives(e: ts.Expression): Array<string | typeof WILD> {
  if (ts.isParenthesizedExpression(e)) return alternatives(e.expression);
  if (ts.isConditionalExpression(e) && ts.isStringLiteral(e.whenTrue) && ts.isStringLiteral(e.whenFalse)) {
    return [e.whenTrue.text, e.whenFalse.text];
  }
  return [WILD];
}

function stringPatterns(e: ts.Expression): Pattern[] {
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [[e.text]];
  if (!ts.isTemplateExpression(e)) return [];
  let acc: Pattern[] = [[e.head.text]];
  for (const span of e.templateSpans) {
    const alts = alternatives(span.expression);
    acc = acc.flatMap((p) => alts.map((a): Pattern => [...p, a, span.literal.text]));
  }
  return acc;
}

/** Message templates of every `<…>log.<level>(…)` call in a source file, and of every call to a
 *  function named `logLine` (the access log's writer, whose level is chosen per outcome). */
function logTemplates(file: URL): Pattern[] {
  const sf = ts.createSourceFile(file.pathname, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Pattern[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      LEVELS.has(node.expression.name.text) &&
      /(^|\.)log$/.test(node.expression.expression.getText(sf))
    ) {
      for (const arg of node.arguments) out.push(...stringPatterns(arg));
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'logLine'
    ) {
      for (const arg of node.arguments) out.push(...stringPatterns(arg));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** A doc line as a pattern: `…` and `<…>` are placeholders. */
function docPattern(line: string): Pattern {
  return line.split(/(…|<[^>]+>)/).map((part, i) => (i % 2 === 1 ? WILD : part));
}

const chars = (p: Pattern): Array<string | typeof WILD> =>
  p.flatMap((x): Array<string | typeof WILD> => (x === WILD ? [WILD] : Array.from(x)));

/** True when some string matches both patterns (wildcards on either side match any text). */
function unify(a: Pattern, b: Pattern): boolean {
  const x = chars(a);
  const y = chars(b);
  const n = x.length;
  const m = y.length;
  // ok[i][j]: x[i:] and y[j:] unify; filled from the ends.
  const ok = Array.from({ length: n + 1 }, () => new Uint8Array(m + 1));
  ok[n]![m] = 1;
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n && j === m) continue;
      let v = false;
      if (i < n && x[i] === WILD) v = ok[i + 1]![j] === 1 || (j < m && ok[i]![j + 1] === 1);
      if (!v && j < m && y[j] === WILD) v = ok[i]![j + 1] === 1 || (i < n && ok[i + 1]![j] === 1);
      if (!v && i < n && j < m && x[i] !== WILD && y[j] !== WILD && x[i] === y[j])
        v = ok[i + 1]![j + 1] === 1;
      ok[i]![j] = v ? 1 : 0;
    }
  }
  return ok[0]![0] === 1;
}

const literalLength = (p: Pattern) => p.reduce((n, x) => n + (x === WILD ? 0 : x.length), 0);

/** Exact log lines a doc states: ```log lines, and the msg of JSON log lines in ```json blocks. */
function docLogLines(md: string): string[] {
  const lines: string[] = [];
  for (const f of fences(md)) {
    if (f.info === 'log') lines.push(...f.lines.filter((l) => l.trim() !== ''));
    if (f.info === 'json') {
      for (const l of f.lines) {
        let v: unknown;
        try {
          v = JSON.parse(l);
        } catch {
          continue;
        }
        const o = v as { msg?: unknown; service?: unknown } | null;
        if (o !== null && typeof o === 'object' && o.service === 'zai-proxy' && typeof o.msg === 'string')
          lines.push(o.msg);
      }
    }
  }
  return lines;
}

describe('docs: log lines', () => {
  const files = sourceFiles(SRC);
  const templates = files.flatMap(logTemplates).filter((p) => literalLength(p) >= 6);

  test('the proxy source yields the log templates the guide relies on', () => {
    assert.ok(
      templates.some((p) =>
        unify(p, ['Token usage (estimated): input=1, output=2, cache_read=0, cache_write=0']),
      ),
    );
    assert.ok(!templates.some((p) => unify(p, ['Token usage (guessed): input=1'])));
  });

  test('every exact log line in the docs is logged by the proxy', () => {
    let count = 0;
    for (const d of DOCS) {
      for (const line of docLogLines(d.text)) {
        count++;
        assert.ok(
          templates.some((t) => unify(docPattern(line), t)),
          `${d.name}: "${line}" is not a log message of packages/proxy/src`,
        );
      }
    }
    assert.ok(count > 0);
  });

  test('every log message of the token accounting is in docs/token-counting.md', () => {
    const lines = docLogLines(doc('token-counting.md')).map(docPattern);
    for (const t of logTemplates(new URL('usage/accounting.ts', SRC))) {
      const text = t.map((x) => (x === WILD ? '…' : x)).join('');
      assert.ok(
        lines.some((l) => unify(l, t)),
        `"${text}" is logged but not shown in a log block of token-counting.md`,
      );
    }
  });
});
