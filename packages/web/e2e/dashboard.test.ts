// The dashboard UI in real headless Chromium against a real dashboard scraping a production and a canary
// proxy, each in front of the simulated Z.AI upstream.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { CanaryResponse, Snapshot, StatusResponse } from '../src/api/types.ts';
import { CHART_PANELS } from '../src/panels/chart-panels.ts';
import { type Browser, launch, seriousViolations } from './browser.ts';
import { type Stack, startStack } from './stack.ts';

let stack: Stack;
let browser: Browser;
let base: string;

async function api<T>(path: string, url = base): Promise<T> {
  const res = await fetch(`${url}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function open(path: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as unknown as { errors: string[] }).errors = errors;
  await page.goto(`${base}${path}`);
  await page.locator('h1', { hasText: 'zai-proxy' }).waitFor();
  return page;
}

const panel = (page: Page, id: string) => page.locator(`section[data-panel="${id}"]`);

/** The text of one cell of a panel's numbers table: row by series label and variant, column by name. */
async function numbersRow(
  page: Page,
  id: string,
  label: string,
  variant: string,
): Promise<Record<string, string>> {
  const row = panel(page, id).locator(`tr[data-series="${label}"][data-variant="${variant}"]`);
  const cells = await row.locator('td').allTextContents();
  const n = cells.length;
  // the Variant column is present only in an overlay
  return {
    latest: cells[n - 5]!,
    min: cells[n - 4]!,
    mean: cells[n - 3]!,
    max: cells[n - 2]!,
    points: cells[n - 1]!,
  };
}

before(async () => {
  stack = await startStack();
  base = stack.dashboard.url;
  browser = await launch();
  // enough traffic on both variants for every panel and for the canary's minimum sample
  await Promise.all([stack.traffic('production', 30), stack.traffic('canary', 30)]);
  await until('both variants in /api/metrics', async () => {
    const [p, c] = await Promise.all([
      api<Snapshot[]>('/api/metrics?range=5m&variant=production'),
      api<Snapshot[]>('/api/metrics?range=5m&variant=canary'),
    ]);
    return p.some((s) => (s.delta?.requests ?? 0) > 0) && c.some((s) => (s.delta?.requests ?? 0) > 0)
      ? true
      : undefined;
  });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

describe('dashboard UI in Chromium', { timeout: 240_000 }, () => {
  it("shows, in each panel's text alternative, the numbers the API returned", async () => {
    await until('a few production points', async () => {
      const pts = await api<Snapshot[]>('/api/metrics?range=5m&variant=production');
      return pts.length >= 6 ? true : undefined;
    });
    // a fixed window in the past takes no live updates, so the page and this test read the same points;
    // it ends 3 scrape intervals back, so no scrape still in flight can add a point to it
    const to = Date.now() - 3000;
    const from = to - 4 * 60_000;
    const page = await open(
      `/?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&variant=production`,
    );
    const rangeMin = Math.ceil((Date.now() - from) / 60_000);
    const points = (await api<Snapshot[]>(`/api/metrics?range=${rangeMin}m&variant=production`)).filter(
      (p) => p.timestamp >= from && p.timestamp <= to,
    );
    assert.ok(points.length > 2, 'points in the window');
    for (const def of CHART_PANELS) {
      const defs = typeof def.series === 'function' ? def.series(points) : def.series;
      // computed here from the API's points, independently of the UI's own summary code
      const rows = defs
        .map((d) => {
          const vals = points
            .map((p) => d.get(p))
            .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
          return {
            label: d.label,
            points: vals.length,
            latest: vals.at(-1) ?? null,
            min: vals.length ? Math.min(...vals) : null,
            max: vals.length ? Math.max(...vals) : null,
            mean: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null,
          };
        })
        .filter((r) => r.points > 0);
      const state = await panel(page, def.id).getAttribute('data-state');
      if (rows.length === 0) {
        assert.equal(state, 'empty', `${def.id} has no data and says so`);
        assert.match(
          (await panel(page, def.id).textContent()) ?? '',
          new RegExp(def.missing.slice(0, 20).replace(/[.()]/g, '.')),
        );
        continue;
      }
      await panel(page, def.id).locator('[data-state="ready"], .numbers').first().waitFor();
      for (const r of rows) {
        const shown = await numbersRow(page, def.id, r.label, 'production');
        assert.deepEqual(
          shown,
          {
            latest: def.format(r.latest),
            min: def.format(r.min),
            mean: def.format(r.mean),
            max: def.format(r.max),
            points: String(r.points),
          },
          `${def.id} / ${r.label}`,
        );
      }
    }
    const status = await api<StatusResponse>('/api/status');
    const up = status.targets.filter((t) => t.up).length;
    assert.match(
      (await panel(page, 'targets').textContent()) ?? '',
      new RegExp(`${up} of ${status.targets.length} up`),
    );
    assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
    await page.close();
  });

  it('shows a live update without a reload', async () => {
    const page = await open('/?range=5m&variant=production');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    const points = async () => Number((await numbersRow(page, 'requests', '2xx', 'production')).points);
    await panel(page, 'requests').locator('.numbers').waitFor();
    const before = await points();
    await stack.traffic('production', 5);
    await until('a new point in the request panel', async () =>
      (await points()) > before ? true : undefined,
    );
    assert.equal(
      await page.evaluate(() => (window as unknown as { marker?: number }).marker),
      42,
      'same document',
    );
    await page.close();
  });

  it('refetches when the range changes and keeps the range in the URL', async () => {
    const page = await open('/?range=5m');
    const seen: string[] = [];
    page.on('request', (r) => seen.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.getByRole('button', { name: '15m', exact: true }).click();
    await until('a 15m history request', async () =>
      seen.some((u) => u.startsWith('/api/metrics?range=15m')) ? true : undefined,
    );
    assert.match(page.url(), /[?&]range=15m/);
    assert.equal(
      await page.getByRole('button', { name: '15m', exact: true }).getAttribute('aria-pressed'),
      'true',
    );
    await page.close();
  });

  it('overlays both variants', async () => {
    const page = await open('/?range=5m');
    await panel(page, 'requests').locator('.numbers').waitFor();
    const p = await numbersRow(page, 'requests', '2xx', 'production');
    const c = await numbersRow(page, 'requests', '2xx', 'canary');
    assert.ok(Number(p.points) > 0 && Number(c.points) > 0, 'both variants have points');
    const legend = (await panel(page, 'requests').locator('.legend-variants').textContent()) ?? '';
    assert.match(legend, /production/);
    assert.match(legend, /canary/);
    await page.close();
  });

  it('reopens the same view from a copied URL', async () => {
    const page = await open('/');
    await page.getByRole('button', { name: '6h', exact: true }).click();
    await page.getByRole('checkbox', { name: 'canary' }).uncheck();
    const copied = page.url();
    await page.close();
    const again = await open(new URL(copied).pathname + new URL(copied).search);
    assert.equal(
      await again.getByRole('button', { name: '6h', exact: true }).getAttribute('aria-pressed'),
      'true',
    );
    assert.equal(await again.getByRole('checkbox', { name: 'canary' }).isChecked(), false);
    assert.equal(await again.getByRole('checkbox', { name: 'production' }).isChecked(), true);
    await again.close();
  });

  it('exports the filtered rows', async () => {
    const page = await open('/?range=5m&variant=canary');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const text = readFileSync((await download.path())!, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    const cols = header!.split(',');
    const vi = cols.indexOf('variant');
    assert.ok(vi >= 0, header);
    assert.ok(rows.length > 0, 'rows exported');
    for (const r of rows) assert.equal(r.split(',')[vi], 'canary');
    await page.close();
  });

  it('has no serious accessibility violations and a keyboard-only path reaches every control', async () => {
    for (const [scheme, width] of [
      ['light', 1280],
      ['dark', 1280],
      ['dark', 390],
    ] as const) {
      const page = await open('/?range=5m');
      await page.setViewportSize({ width, height: 844 });
      await page.emulateMedia({ colorScheme: scheme });
      await panel(page, 'requests').locator('.numbers').waitFor();
      await panel(page, 'canary').locator('[data-testid^="verdict-"], .panel-empty').first().waitFor();
      const v = await seriousViolations(page);
      assert.deepEqual(
        v.map((x) => `${x.id}: ${x.help} at ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`),
        [],
        `axe in ${scheme} at ${width} px`,
      );
      const controls = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('button, a[href], input, select, summary, [tabindex="0"]')]
          .filter((e) => e.offsetParent !== null && !(e as HTMLButtonElement).disabled)
          .map((e, i) => {
            e.dataset.kbd = String(i);
            return String(i);
          }),
      );
      const reached = new Set<string>();
      await page.locator('body').focus();
      for (let i = 0; i < controls.length + 5; i++) {
        await page.keyboard.press('Tab');
        const k = await page.evaluate(
          () => (document.activeElement as HTMLElement | null)?.dataset.kbd ?? null,
        );
        if (k !== null) reached.add(k);
      }
      assert.deepEqual(
        controls.filter((c) => !reached.has(c)),
        [],
        'every control is reachable with Tab',
      );
      // and the numbers behind a chart open from the keyboard
      await page.locator('section[data-panel="latency"] summary').focus();
      await page.keyboard.press('Enter');
      assert.equal(await page.locator('section[data-panel="latency"] details').getAttribute('open'), '');
      await page.close();
    }
  });

  it("changes the canary verdict when the canary's upstream starts failing", async () => {
    const page = await open('/?range=5m');
    const verdict = page.getByTestId('verdict-canary');
    await verdict.waitFor();
    const first = await verdict.textContent();
    assert.notEqual(first, 'Roll back', 'healthy canary is not rolled back');
    await stack.traffic('canary', 30, 'status;code=500');
    await until(
      'the API to say rollback',
      async () =>
        (await api<CanaryResponse>('/api/canary?window=5m')).results[0]?.verdict === 'rollback'
          ? true
          : undefined,
      60_000,
    );
    await until(
      'the page to say roll back',
      async () => ((await verdict.textContent()) === 'Roll back' ? true : undefined),
      30_000,
    );
    const deciding = (await panel(page, 'canary').locator('.deciding').textContent()) ?? '';
    assert.match(deciding, /error ratio/);
    await page.close();
  });

  it('asks for the token when DASHBOARD_TOKEN is set, then shows the dashboard', async () => {
    const token = 'e2e-token-0123456789';
    const locked = await stack.startDashboard({ DASHBOARD_TOKEN: token });
    const page = await browser.newPage();
    await page.goto(locked.url);
    const input = page.getByLabel('Token');
    await input.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token is not right.').waitFor();
    await input.fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1', { hasText: 'zai-proxy' }).waitFor();
    await page.locator('section[data-panel="targets"]').waitFor();
    await page.close();
  });
});
