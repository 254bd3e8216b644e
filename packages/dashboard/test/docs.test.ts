// docs/dashboard.md and docs/dashboard-api.md checked against the code: every variable, route,
// error code and metric exists and is documented, and documented defaults are the defaults.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { API_ERRORS } from '../src/api/errors.ts';
import { API_ROUTES } from '../src/app.ts';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';
import { createDashboardMetrics } from '../src/metrics.ts';

const ROOT = new URL('../../../', import.meta.url);
const GUIDE = readFileSync(new URL('docs/dashboard.md', ROOT), 'utf8');
const API = readFileSync(new URL('docs/dashboard-api.md', ROOT), 'utf8');

/** Names that look like variables but are not dashboard variables: error codes, the original's unread ones. */
const OTHER_NAMES = new Set([...Object.keys(API_ERRORS), 'LOG_FORMAT', 'LOG_ADD_SOURCE']);

function rows(md: string, header: string[]): string[][] {
  const out: string[][] = [];
  let inTable = false;
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
    if (header.every((h, i) => cells[i] === h)) inTable = true;
    else if (inTable && !/^-+$/.test(cells[0]!)) out.push(cells);
  }
  return out;
}

describe('dashboard docs', () => {
  const table = rows(GUIDE, ['Variable', 'Type', 'Default', 'Meaning']);
  const defaults = loadConfig({}) as Record<string, unknown>;

  test('each variable has one row in docs/dashboard.md, with its default', () => {
    for (const name of CONFIG_VARIABLES) {
      const mine = table.filter((r) => r[0] === `\`${name}\``);
      assert.equal(mine.length, 1, `${name}: one row`);
      const cell = mine[0]![2]!;
      const value = /`([^`]+)`/.exec(cell)?.[1];
      const actual = defaults[name];
      if (value === undefined) assert.equal(actual, undefined, `${name}: documented as unset`);
      else if (typeof actual === 'number' && /^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value)) {
        const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
          value.replace(/^[\d.]+/, '')
        ]!;
        assert.equal(Number.parseFloat(value) * unit, actual, `${name}: default`);
      } else if (name === 'LISTEN_ADDR')
        assert.deepEqual(actual, { host: '0.0.0.0', port: Number(value.slice(1)) });
      else if (name === 'SCRAPE_TARGETS')
        assert.equal(
          value,
          (actual as { name: string; url: string }[]).map((t) => `${t.name}=${t.url}`).join(','),
        );
      else if (name === 'WEB_DIST') assert.ok(String(actual).endsWith(value), `${name}: ${actual}`);
      else assert.equal(String(actual), value, `${name}: default`);
    }
    for (const r of table)
      assert.ok(CONFIG_VARIABLES.includes(r[0]!.replaceAll('`', '')), `${r[0]} is read by config.ts`);
  });

  test('every variable-looking name in the dashboard docs is a dashboard variable or a known other name', () => {
    for (const [doc, text] of [
      ['dashboard.md', GUIDE],
      ['dashboard-api.md', API],
    ] as const) {
      for (const [name] of text.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g))
        assert.ok(CONFIG_VARIABLES.includes(name) || OTHER_NAMES.has(name), `${doc} names ${name}`);
    }
  });

  test('every route, method set and error code is in the API reference', () => {
    for (const route of Object.keys(API_ROUTES))
      assert.ok(API.includes(`\`GET ${route}\``) || API.includes(`${route}\``), route);
    assert.ok(API.includes('`POST /api/session`') && API.includes('`DELETE /api/session`'));
    for (const code of Object.keys(API_ERRORS)) assert.ok(API.includes(`\`${code}\``), code);
  });

  test("every one of the dashboard's own metrics is listed", async () => {
    const m = createDashboardMetrics();
    for (const metric of m.registry.getMetricsAsArray())
      assert.ok(API.includes(`\`${metric.name}`), metric.name);
  });
});
