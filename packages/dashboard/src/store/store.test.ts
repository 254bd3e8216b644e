import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Tick } from '../collector/source.ts';
import { emptyPoint, type Point, type UsageRow } from '../points/point.ts';
import { createStore, MINUTE, StorageUnavailableError } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'dash-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `t${n++}.db`);

const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const DAY = 86_400_000;

/** A raw point with `requests` requests (one in ten an error) and a TTFB histogram. */
export function point(ts: number, variant: string, requests: number, intervalMs = 5000): Point {
  const p = emptyPoint(ts, variant, intervalMs);
  p.delta.requests = requests;
  p.delta.requests_2xx = requests;
  p.delta.status['200'] = requests;
  p.delta.errors = Math.floor(requests / 10);
  p.targetsUp = 1;
  p.targetsTotal = 1;
  p.cum.requests_2xx = ts / 1000;
  p.gauges.concurrent = { sum: requests % 3, n: 1 };
  p.hist.ttfb = {
    le: [0.1, 1, Number.POSITIVE_INFINITY],
    count: [requests, requests, requests],
    sum: requests * 0.05,
  };
  return p;
}

function usage(ts: number, variant: string, model: string, tokens: number, client = ''): UsageRow {
  return {
    ts,
    variant,
    model,
    client,
    tokens: [tokens, tokens * 2, 0, 0],
    micro: [tokens * 3, tokens * 7, 0, 0],
  };
}

function tick(ts: number, variants: Record<string, number>, intervalMs = 5000): Tick {
  return {
    ts,
    points: Object.entries(variants).map(([v, r]) => point(ts, v, r, intervalMs)),
    usage: Object.entries(variants).map(([v, r]) => usage(ts, v, 'glm-4.6', r)),
  };
}

const opts = (path: string) => ({ path, retention5sMs: DAY, retention1mMs: 7 * DAY });

describe('store', () => {
  test('raw points round-trip; closed minutes roll up to sums; the open minute is served from raw', () => {
    const store = createStore(opts(dbPath()));
    for (let i = 0; i < 30; i++)
      store.write(tick(T0 + i * 5000, { production: i, canary: 1 }), T0 + i * 5000);
    // 30 ticks of 5 s: minutes 0 and 1 closed (12 ticks each), minute 2 open (6 ticks).
    const raw = store.points({ start: T0, end: T0 + 3 * MINUTE, resolution: 'raw', variant: 'production' });
    assert.equal(raw.length, 30);
    assert.deepEqual(raw[3]!.hist.ttfb!.le, [0.1, 1, Number.POSITIVE_INFINITY]);
    const mins = store.points({ start: T0, end: T0 + 3 * MINUTE, resolution: '1m', variant: 'production' });
    assert.deepEqual(
      mins.map((p) => [p.ts - T0, p.delta.requests, p.intervalMs]),
      [
        [0, 66, 60_000], // 0+…+11
        [MINUTE, 210, 60_000], // 12+…+23
        [2 * MINUTE, 159, 30_000], // 24+…+29, from raw
      ],
    );
    assert.equal(mins[0]!.hist.ttfb!.count.at(-1), 66);
    assert.equal(mins[0]!.gauges.concurrent!.n, 12, 'gauges keep their samples for the mean');
    const both = store.points({ start: T0, end: T0 + MINUTE - 1, resolution: '1m' });
    assert.deepEqual(
      both.map((p) => p.variant),
      ['canary', 'production'],
    );
    assert.equal(store.status().ok, true);
    store.close();
  });

  test('7 days are served for real: 1-minute rollups outlive the 24 h raw retention', () => {
    const store = createStore(opts(dbPath()));
    const minutes = 7 * 24 * 60;
    for (let i = 0; i < minutes; i++)
      store.write(tick(T0 + i * MINUTE, { production: 2 }, MINUTE), T0 + i * MINUTE);
    const end = T0 + (minutes - 1) * MINUTE;
    const week = store.points({ start: end - 7 * DAY + MINUTE, end, resolution: '1m' });
    assert.equal(week.length, minutes);
    assert.equal(
      week.reduce((s, p) => s + p.delta.requests, 0),
      2 * minutes,
    );
    const rawLeft = store.points({ start: T0, end, resolution: 'raw' });
    assert.ok(rawLeft.length <= 24 * 60 + 1, `raw pruned to 24 h, ${rawLeft.length} left`);
    assert.ok(rawLeft.length >= 24 * 60 - 1);
    store.close();
  });

  test('step buckets read again come from the cache and equal a fresh merge, as minutes close and old ones are pruned', () => {
    const path = dbPath();
    const o = { path, retention5sMs: DAY, retention1mMs: 40 * MINUTE };
    const store = createStore(o);
    const step = 5 * MINUTE;
    // The reference: a second store on the same file, its cache empty, reads and merges everything.
    const fresh = (start: number, end: number, variant?: string) => {
      const other = createStore(o);
      other.open(ts);
      try {
        return other.points({ start, end, resolution: '1m', stepMs: step, ...(variant ? { variant } : {}) });
      } finally {
        other.close();
      }
    };
    const cached = (start: number, end: number, variant?: string) =>
      store.points({ start, end, resolution: '1m', stepMs: step, ...(variant ? { variant } : {}) });
    let ts = T0;
    const advance = (ticks: number) => {
      for (let i = 0; i < ticks; i++, ts += 5000)
        store.write(tick(ts, { production: (ts / 5000) % 7, canary: 1 }), ts);
    };
    const check = (label: string) => {
      const end = ts - 5000;
      // An unaligned start (a partial first bucket); an end inside an open bucket and minute, and
      // one past the newest point (a scrape still to come): buckets not closed yet are never kept.
      for (const [start, stop, variant] of [
        [end - 30 * MINUTE + 1234, end, undefined],
        [end - 30 * MINUTE + 1234, end, 'canary'],
        [T0, end, 'production'],
        [end - 20 * MINUTE, end + 10 * MINUTE, undefined],
      ] as const) {
        const a = cached(start, stop, variant);
        assert.ok(a.length > 0, label);
        assert.deepEqual(a, fresh(start, stop, variant), `${label}: from ${start - T0}, ${variant ?? 'all'}`);
        assert.deepEqual(cached(start, stop, variant), a, `${label}: read again`);
      }
    };
    advance(12 * 17 + 5); // 17 closed minutes, the 18th open
    check('first read');
    advance(12 * 3); // three more minutes close, inside buckets already read
    check('after more minutes closed');
    advance(12 * 45); // past the 40-minute retention of the rollups: the oldest are pruned
    check('after pruning');
    store.close();
  });

  test('history survives a restart: points, rollups, latest per variant and the variant list', () => {
    const path = dbPath();
    let store = createStore(opts(path));
    for (let i = 0; i < 20; i++)
      store.write(tick(T0 + i * 5000, { production: 1, 'canary-b': 2 }), T0 + i * 5000);
    store.close();
    store = createStore(opts(path));
    store.open(T0 + 100_000);
    assert.deepEqual(store.variants(), ['canary-b', 'production']);
    assert.equal(store.latest().get('canary-b')!.ts, T0 + 19 * 5000);
    assert.equal(store.points({ start: T0, end: T0 + DAY, resolution: 'raw' }).length, 40);
    assert.equal(
      store.points({ start: T0, end: T0 + DAY, resolution: '1m', variant: 'production' })[0]!.delta.requests,
      12,
    );
    store.close();
  });

  test('usage: rollups plus the open minute, filters by variant, model and client; zero rows are not stored', () => {
    const store = createStore(opts(dbPath()));
    for (let i = 0; i < 18; i++) {
      const t = tick(T0 + i * 5000, { production: 1, canary: 2 });
      t.usage.push(usage(T0 + i * 5000, 'production', 'glm-4.5-air', 5, 'source-07'));
      t.usage.push(usage(T0 + i * 5000, 'production', 'glm-5', 0));
      store.write(t, T0 + i * 5000);
    }
    const all = store.usage({ start: T0, end: T0 + 2 * MINUTE });
    const sum = (rows: UsageRow[]) => rows.reduce((s, r) => s + r.tokens[0], 0);
    assert.equal(sum(all), 18 * (1 + 2 + 5));
    assert.equal(sum(store.usage({ start: T0, end: T0 + 2 * MINUTE, variant: 'canary' })), 36);
    assert.equal(sum(store.usage({ start: T0, end: T0 + 2 * MINUTE, client: 'source-07' })), 90);
    assert.equal(sum(store.usage({ start: T0, end: T0 + 2 * MINUTE, model: 'glm-4.5-air' })), 90);
    assert.equal(store.usage({ start: T0, end: T0 + 2 * MINUTE, model: 'glm-5' }).length, 0);
    store.close();
  });

  test('a storage failure is not fatal: writes queue, live data and latest work from memory, then it recovers', () => {
    let broken = true;
    const path = dbPath();
    const errors: string[] = [];
    const store = createStore({
      ...opts(path),
      open: (p) => {
        if (broken) throw new Error('unable to open database file');
        return new Database(p);
      },
      onError: (op) => errors.push(op),
    });
    for (let i = 0; i < 6; i++)
      assert.doesNotThrow(() => store.write(tick(T0 + i * 5000, { production: 3 }), T0 + i * 5000));
    const st = store.status();
    assert.equal(st.ok, false);
    assert.match(st.last_error!, /^open: unable to open database file/);
    assert.equal(st.pending_ticks, 6);
    assert.equal(store.latest().get('production')!.ts, T0 + 25_000);
    assert.equal(store.points({ start: T0, end: T0 + MINUTE, resolution: 'raw' }).length, 6);
    assert.throws(
      () => store.points({ start: T0 - DAY, end: T0, resolution: '1m' }),
      StorageUnavailableError,
    );
    assert.throws(() => store.usage({ start: T0, end: T0 + MINUTE }), StorageUnavailableError);
    broken = false;
    store.write(tick(T0 + 27_000, { production: 3 }), T0 + 27_000); // 7 s after the last attempt (T0 + 20 s): not yet
    assert.equal(store.status().ok, false);
    store.write(tick(T0 + 30_000, { production: 3 }), T0 + 30_000);
    assert.equal(store.status().ok, true);
    assert.equal(store.status().pending_ticks, 0);
    assert.equal(
      store.points({ start: T0, end: T0 + MINUTE, resolution: 'raw' }).length,
      8,
      'queued ticks were written',
    );
    assert.ok(errors.includes('open') && errors.includes('recovered'));
    store.close();
  });

  test('pruning runs in bounded batches per write', () => {
    const path = dbPath();
    const store = createStore(opts(path));
    store.open(T0);
    const raw = new Database(path);
    const ins = raw.prepare("INSERT INTO points_5s (ts, variant, data) VALUES (?, 'old', '{}')");
    raw.transaction(() => {
      for (let i = 0; i < 25_000; i++) ins.run(T0 - 2 * DAY + i);
    })();
    const count = () => (raw.prepare('SELECT count(*) AS n FROM points_5s').get() as { n: number }).n;
    store.write(tick(T0, { production: 1 }), T0);
    assert.equal(count(), 25_000 - 20_000 + 1);
    store.write(tick(T0 + 5000, { production: 1 }), T0 + 5000);
    assert.equal(count(), 2);
    raw.close();
    store.close();
  });

  test(':memory: works', () => {
    const store = createStore(opts(':memory:'));
    store.write(tick(T0, { production: 1 }), T0);
    assert.equal(store.points({ start: T0, end: T0, resolution: 'raw' }).length, 1);
    store.close();
  });
});
