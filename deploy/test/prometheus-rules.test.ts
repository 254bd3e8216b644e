// The Prometheus rules: promtool accepts them and their unit tests pass; each alert has a case where
// it fires, one where it does not, and an episode checked at two or more times (one alert through a
// dip); each names a runbook section that exists; each series is one the proxy exports or one of the
// original's contract (no invented names).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createMetrics } from '../../packages/proxy/src/metrics.ts';
import { run } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'deploy/prometheus');
const RULES = join(DIR, 'zai-proxy.rules.yml');
const TESTS = join(DIR, 'zai-proxy.rules.test.yml');

/** The Go original's series (docs/original-contract.json): alerts may use them before this proxy exports them. */
const ORIGINAL = new Set(
  (
    JSON.parse(readFileSync(join(ROOT, 'docs/original-contract.json'), 'utf8')) as {
      metrics: { name: string }[];
    }
  ).metrics.map((m) => m.name),
);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  eval_time: string;
  exp_alerts: unknown[];
}
interface UnitTest {
  name?: string;
  alert_rule_test?: AlertTest[];
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);
const unitTests = (parse(readFileSync(TESTS, 'utf8')) as { tests: UnitTest[] }).tests;

test('promtool check rules accepts the rule file', () => {
  assert.match(run('promtool', ['check', 'rules', RULES]), /SUCCESS: \d+ rules found/);
});

test('promtool test rules: every unit test passes', () => {
  assert.match(run('promtool', ['test', 'rules', TESTS], { cwd: DIR }), /SUCCESS/);
});

test('each alert has a firing case, a non-firing case and an episode checked at two times', () => {
  assert.ok(alerts.length >= 10);
  for (const a of alerts) {
    const cases = unitTests.map((t) => (t.alert_rule_test ?? []).filter((x) => x.alertname === a.alert));
    assert.ok(
      cases.some((c) => c.some((x) => x.exp_alerts.length > 0)),
      `${a.alert}: a firing case`,
    );
    assert.ok(
      cases.some((c) => c.some((x) => x.exp_alerts.length === 0)),
      `${a.alert}: a non-firing case`,
    );
    const episode = unitTests.find(
      (t, i) => /one alert/.test(t.name ?? '') && cases[i]!.some((x) => x.exp_alerts.length > 0),
    );
    assert.ok(episode !== undefined, `${a.alert}: a once-per-episode case`);
    assert.ok(a.keep_firing_for !== undefined, `${a.alert}: keep_firing_for holds it through a dip`);
  }
});

test('each alert links a runbook section of docs/alerts.md that exists', () => {
  const doc = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
  const anchors = new Set(
    [...doc.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  for (const a of alerts) {
    assert.equal(
      a.annotations?.runbook_url,
      `docs/alerts.md#${a.alert!.toLowerCase()}`,
      `${a.alert}: runbook_url`,
    );
    assert.ok(anchors.has(a.alert!.toLowerCase()), `docs/alerts.md has a "## ${a.alert}" section`);
    assert.ok(a.annotations?.summary, `${a.alert}: a summary`);
  }
  for (const anchor of anchors)
    if (anchor.startsWith('zai'))
      assert.ok(
        alerts.some((a) => a.alert!.toLowerCase() === anchor),
        `${anchor}: an alert`,
      );
});

test('every zai_proxy_* series in the rules is exported or of the original contract', async () => {
  const exported = new Set((await createMetrics('x').registry.getMetricsAsJSON()).map((m) => m.name));
  const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
  for (const r of rules) {
    for (const [name] of r.expr.matchAll(/\b[a-z_:]*zai_proxy_[a-z0-9_:]+/g)) {
      if (recorded.has(name)) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(
        exported.has(base) || ORIGINAL.has(base),
        `${r.alert ?? r.record}: ${name} is neither exported nor an original series`,
      );
    }
  }
});
