// History in SQLite (better-sqlite3, WAL): raw points for RETENTION_5S, one-minute rollups for
// RETENTION_1M built incrementally as each minute closes, usage rows beside both, pruning in bounded
// batches. WAL with synchronous=NORMAL loses nothing a committed transaction wrote when the process
// is killed (only an OS crash can). A storage failure is never fatal: the last hour stays in memory
// for live views, unwritten ticks wait in a bounded queue, and opening/writing is retried.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Tick } from '../collector/source.ts';
import { mergePoints, type Point, type UsageRow } from '../points/point.ts';
import { decodePoint, encodePoint } from './codec.ts';

export const MINUTE = 60_000;
const MEMORY_MS = 3_600_000; // 1 h of raw points kept in memory: live views survive a storage failure
const MAX_PENDING_TICKS = 2_000; // ~2.8 h at 5 s
const PRUNE_BATCH = 5_000;
const PRUNE_BATCHES_PER_TICK = 4;
const REOPEN_AFTER_MS = 10_000;

export interface StorageStatus {
  ok: boolean;
  path: string;
  last_error: string | null;
  last_error_at: number | null;
  write_failures: number;
  pending_ticks: number;
  rows_5s: number;
  rows_1m: number;
}

/** A history query while the database is unavailable. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

export interface StoreOptions {
  path: string;
  retention5sMs: number;
  retention1mMs: number;
  /** Called on every storage failure (op = open | write | read | prune) and recovery (err = null). */
  onError?: (op: string, err: Error | null) => void;
  /** Test hook: open the database through this (e.g. one that throws). */
  open?: (path: string) => Database.Database;
}

export interface PointQuery {
  start: number;
  end: number;
  variant?: string;
  resolution: 'raw' | '1m';
  /** One-minute points merged into buckets of this many ms (a whole number of minutes). */
  stepMs?: number | null;
}

export interface UsageQuery {
  start: number;
  end: number;
  variant?: string;
  client?: string;
  model?: string;
  /** 'raw' reads raw rows only (same timestamps as raw points); default: rollups plus the open minute. */
  resolution?: 'raw' | '1m';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS points_5s (ts INTEGER NOT NULL, variant TEXT NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS points_5s_key ON points_5s (ts, variant);
CREATE TABLE IF NOT EXISTS points_1m (ts INTEGER NOT NULL, variant TEXT NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS points_1m_key ON points_1m (ts, variant);
CREATE TABLE IF NOT EXISTS usage_5s (ts INTEGER NOT NULL, variant TEXT NOT NULL, model TEXT NOT NULL, client TEXT NOT NULL,
  t_in INTEGER NOT NULL, t_out INTEGER NOT NULL, t_cr INTEGER NOT NULL, t_cw INTEGER NOT NULL,
  m_in INTEGER NOT NULL, m_out INTEGER NOT NULL, m_cr INTEGER NOT NULL, m_cw INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS usage_5s_key ON usage_5s (ts, variant, model, client);
CREATE TABLE IF NOT EXISTS usage_1m (ts INTEGER NOT NULL, variant TEXT NOT NULL, model TEXT NOT NULL, client TEXT NOT NULL,
  t_in INTEGER NOT NULL, t_out INTEGER NOT NULL, t_cr INTEGER NOT NULL, t_cw INTEGER NOT NULL,
  m_in INTEGER NOT NULL, m_out INTEGER NOT NULL, m_cr INTEGER NOT NULL, m_cw INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS usage_1m_key ON usage_1m (ts, variant, model, client);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type Row = { ts: number; variant: string; data: string };
type UsageDbRow = {
  ts: number;
  variant: string;
  model: string;
  client: string;
  t_in: number;
  t_out: number;
  t_cr: number;
  t_cw: number;
  m_in: number;
  m_out: number;
  m_cr: number;
  m_cw: number;
};

const USAGE_COLS = 'ts, variant, model, client, t_in, t_out, t_cr, t_cw, m_in, m_out, m_cr, m_cw';

function toUsage(r: UsageDbRow): UsageRow {
  return {
    ts: r.ts,
    variant: r.variant,
    model: r.model,
    client: r.client,
    tokens: [r.t_in, r.t_out, r.t_cr, r.t_cw],
    micro: [r.m_in, r.m_out, r.m_cr, r.m_cw],
  };
}

function usageParams(u: UsageRow): (string | number)[] {
  return [u.ts, u.variant, u.model, u.client, ...u.tokens, ...u.micro];
}

/** Opens (or creates) the store; a database that cannot be opened is retried on later writes. */
export function createStore(opts: StoreOptions) {
  const openDb =
    opts.open ??
    ((path: string) => {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      return new Database(path);
    });
  let db: Database.Database | null = null;
  let stmts: ReturnType<typeof prepare> | null = null;
  let lastOpenAttempt = Number.NEGATIVE_INFINITY;
  const status: StorageStatus = {
    ok: false,
    path: opts.path,
    last_error: null,
    last_error_at: null,
    write_failures: 0,
    pending_ticks: 0,
    rows_5s: 0,
    rows_1m: 0,
  };
  const memory: Tick[] = []; // newest last
  const pending: Tick[] = [];
  const latest = new Map<string, Point>();
  const known = new Set<string>();

  function prepare(d: Database.Database) {
    return {
      insertPoint5: d.prepare('INSERT OR REPLACE INTO points_5s (ts, variant, data) VALUES (?, ?, ?)'),
      insertPoint1: d.prepare('INSERT OR REPLACE INTO points_1m (ts, variant, data) VALUES (?, ?, ?)'),
      insertUsage5: d.prepare(
        `INSERT OR REPLACE INTO usage_5s (${USAGE_COLS}) VALUES (${'?, '.repeat(11)}?)`,
      ),
      insertUsage1: d.prepare(
        `INSERT OR REPLACE INTO usage_1m (${USAGE_COLS}) VALUES (${'?, '.repeat(11)}?)`,
      ),
      raw: d.prepare<[number, number], Row>(
        'SELECT ts, variant, data FROM points_5s WHERE ts >= ? AND ts <= ? ORDER BY ts, variant',
      ),
      rawV: d.prepare<[number, number, string], Row>(
        'SELECT ts, variant, data FROM points_5s WHERE ts >= ? AND ts <= ? AND variant = ? ORDER BY ts',
      ),
      min1: d.prepare<[number, number], Row>(
        'SELECT ts, variant, data FROM points_1m WHERE ts >= ? AND ts <= ? ORDER BY ts, variant',
      ),
      min1V: d.prepare<[number, number, string], Row>(
        'SELECT ts, variant, data FROM points_1m WHERE ts >= ? AND ts <= ? AND variant = ? ORDER BY ts',
      ),
      usage5: d.prepare<[number, number], UsageDbRow>(
        `SELECT ${USAGE_COLS} FROM usage_5s WHERE ts >= ? AND ts < ?`,
      ),
      usage1: d.prepare<[number, number], UsageDbRow>(
        `SELECT ${USAGE_COLS} FROM usage_1m WHERE ts >= ? AND ts < ?`,
      ),
      minutesToRoll: d.prepare<[number, number], { m: number }>(
        'SELECT DISTINCT (ts / 60000) * 60000 AS m FROM points_5s WHERE ts >= ? AND ts < ? ORDER BY m',
      ),
      getMeta: d.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: d.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      prune: (table: string) =>
        d.prepare(
          `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ts < ? LIMIT ${PRUNE_BATCH})`,
        ),
      count: (table: string) => d.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`),
      latestPerVariant: d.prepare<[], Row>(
        'SELECT p.ts, p.variant, p.data FROM points_5s p JOIN (SELECT variant, MAX(ts) AS ts FROM points_5s GROUP BY variant) m ON p.variant = m.variant AND p.ts = m.ts',
      ),
      variants: d.prepare<[], { variant: string }>(
        'SELECT variant FROM points_1m GROUP BY variant UNION SELECT variant FROM points_5s GROUP BY variant',
      ),
    };
  }

  function fail(op: string, err: unknown) {
    const e = err instanceof Error ? err : new Error(String(err));
    status.ok = false;
    status.last_error = `${op}: ${e.message}`;
    status.last_error_at = Date.now();
    if (op === 'write') status.write_failures++;
    opts.onError?.(op, e);
  }

  function recovered() {
    if (!status.ok) {
      status.ok = true;
      opts.onError?.('recovered', null);
    }
  }

  /** The open database, opening it if needed (at most every REOPEN_AFTER_MS after a failure). */
  function ensureOpen(nowMs: number): boolean {
    if (db !== null) return true;
    if (nowMs - lastOpenAttempt < REOPEN_AFTER_MS) return false;
    lastOpenAttempt = nowMs;
    let d: Database.Database | null = null;
    try {
      d = openDb(opts.path);
      d.pragma('journal_mode = WAL');
      d.pragma('synchronous = NORMAL');
      d.pragma('busy_timeout = 2000');
      d.exec(SCHEMA);
      stmts = prepare(d);
      db = d;
      status.rows_5s = stmts.count('points_5s').get()!.n;
      status.rows_1m = stmts.count('points_1m').get()!.n;
      for (const r of stmts.variants.all()) known.add(r.variant);
      for (const r of stmts.latestPerVariant.all()) {
        const p = decodePoint(r.ts, r.variant, r.data);
        const cur = latest.get(r.variant);
        if (cur === undefined || cur.ts < p.ts) latest.set(r.variant, p);
      }
      recovered();
      return true;
    } catch (err) {
      try {
        d?.close();
      } catch {}
      db = null;
      stmts = null;
      fail('open', err);
      return false;
    }
  }

  function rolledUntil(): number | null {
    const v = stmts!.getMeta.get('rolled_until')?.value;
    return v === undefined ? null : Number(v);
  }

  /** Builds the rollups of every minute that closed before `tickTs` and is not rolled up yet. */
  function rollup(tickTs: number) {
    const s = stmts!;
    const currentMinute = Math.floor(tickTs / MINUTE) * MINUTE;
    const from = rolledUntil() ?? 0;
    if (from >= currentMinute) return;
    for (const { m } of s.minutesToRoll.all(from, currentMinute)) {
      const rows = s.raw.all(m, m + MINUTE - 1);
      const byVariant = new Map<string, Point[]>();
      for (const r of rows) {
        const list = byVariant.get(r.variant) ?? [];
        list.push(decodePoint(r.ts, r.variant, r.data));
        byVariant.set(r.variant, list);
      }
      for (const [variant, pts] of byVariant) {
        s.insertPoint1.run(m, variant, encodePoint(mergePoints(m, pts)));
        status.rows_1m++;
      }
      for (const u of sumUsage(s.usage5.all(m, m + MINUTE).map(toUsage), () => m))
        s.insertUsage1.run(...usageParams(u));
    }
    s.setMeta.run('rolled_until', String(currentMinute));
  }

  function writeTick(t: Tick) {
    const s = stmts!;
    for (const p of t.points) {
      s.insertPoint5.run(p.ts, p.variant, encodePoint(p));
      status.rows_5s++;
    }
    for (const u of t.usage)
      if (u.tokens.some((x) => x > 0) || u.micro.some((x) => x > 0)) s.insertUsage5.run(...usageParams(u));
    rollup(t.ts);
  }

  function prune(nowMs: number) {
    const s = stmts!;
    const cut = [
      ['points_5s', nowMs - opts.retention5sMs],
      ['usage_5s', nowMs - opts.retention5sMs],
      ['points_1m', nowMs - opts.retention1mMs],
      ['usage_1m', nowMs - opts.retention1mMs],
    ] as const;
    const cut1m = nowMs - opts.retention1mMs;
    for (const [k, e] of bucketCache) if (e.start < cut1m) bucketCache.delete(k);
    for (const [table, before] of cut) {
      const stmt = s.prune(table);
      for (let i = 0; i < PRUNE_BATCHES_PER_TICK; i++) {
        const n = stmt.run(before).changes;
        if (table === 'points_5s') status.rows_5s -= n;
        if (table === 'points_1m') status.rows_1m -= n;
        if (n < PRUNE_BATCH) break;
      }
    }
  }

  /** Points in [start, end] (inclusive), oldest first, ties by variant. */
  function readPoints(q: PointQuery): Point[] {
    const inMemory = () =>
      memory
        .flatMap((t) => t.points)
        .filter(
          (p) => p.ts >= q.start && p.ts <= q.end && (q.variant === undefined || p.variant === q.variant),
        );
    if (db === null) {
      // Live views (up to the last hour) keep working from memory; longer ones need the database.
      const newest = memory.at(-1)?.ts ?? q.end;
      if (q.start < newest - MEMORY_MS)
        throw new StorageUnavailableError(status.last_error ?? 'storage unavailable');
      return q.resolution === 'raw' ? inMemory() : sortPoints(minuteBuckets(inMemory()));
    }
    try {
      const s = stmts!;
      const decode = (rows: Row[]) => rows.map((r) => decodePoint(r.ts, r.variant, r.data));
      const unwritten = pending
        .flatMap((t) => t.points)
        .filter(
          (p) => p.ts >= q.start && p.ts <= q.end && (q.variant === undefined || p.variant === q.variant),
        );
      if (q.resolution === 'raw') {
        const rows =
          q.variant === undefined ? s.raw.all(q.start, q.end) : s.rawV.all(q.start, q.end, q.variant);
        return sortPoints([...decode(rows), ...unwritten]);
      }
      const rolled = rolledUntil() ?? Number.NEGATIVE_INFINITY;
      const mins = decode(
        q.variant === undefined ? s.min1.all(q.start, q.end) : s.min1V.all(q.start, q.end, q.variant),
      );
      // The minute not rolled up yet comes from the raw points, so the newest data is never missing.
      const openFrom = Math.max(q.start, Number.isFinite(rolled) ? rolled : q.start);
      const raw = [
        ...decode(
          q.variant === undefined ? s.raw.all(openFrom, q.end) : s.rawV.all(openFrom, q.end, q.variant),
        ),
        ...unwritten,
      ];
      return sortPoints([
        ...mins.filter((p) => p.ts < openFrom || !Number.isFinite(rolled)),
        ...minuteBuckets(raw),
      ]);
    } catch (err) {
      fail('read', err);
      throw new StorageUnavailableError(status.last_error ?? 'storage read failed');
    }
  }

  // Step buckets made only of final one-minute rows (before rolled_until) never change, so a long
  // range read again (the UI's 7-day view) decodes only the buckets it has not seen: decoding every
  // row of 7 days for 4 variants took seconds. Keyed by step, variant filter and bucket start;
  // insertion-ordered, so the oldest entries go first when the bound is reached.
  const bucketCache = new Map<string, { start: number; points: Point[] }>();
  const BUCKET_CACHE_MAX = 16_384;

  function cachedBuckets(q: PointQuery, step: number): Point[] {
    const rolled = rolledUntil();
    const firstFull = Math.ceil(q.start / step) * step;
    const fullEnd = rolled === null ? firstFull : Math.floor(Math.min(rolled, q.end + 1) / step) * step;
    if (fullEnd <= firstFull) return stepBuckets(readPoints(q), step);
    const s = stmts!;
    const filter = q.variant ?? '';
    const key = (b: number) => `${step}\u0000${filter}\u0000${b}`;
    const middle: Point[] = [];
    let run: number | null = null; // start of a run of buckets not in the cache
    const fill = (from: number, to: number) => {
      const rows = q.variant === undefined ? s.min1.all(from, to - 1) : s.min1V.all(from, to - 1, q.variant);
      const byBucket = new Map<number, Point[]>();
      for (let b = from; b < to; b += step) byBucket.set(b, []);
      for (const r of rows)
        byBucket.get(Math.floor(r.ts / step) * step)!.push(decodePoint(r.ts, r.variant, r.data));
      for (const [b, pts] of byBucket) {
        const merged = stepBuckets(pts, step);
        if (bucketCache.size >= BUCKET_CACHE_MAX) bucketCache.delete(bucketCache.keys().next().value!);
        bucketCache.set(key(b), { start: b, points: merged });
        middle.push(...merged);
      }
    };
    for (let b = firstFull; b < fullEnd; b += step) {
      const hit = bucketCache.get(key(b));
      if (hit === undefined) {
        run ??= b;
        continue;
      }
      if (run !== null) fill(run, b);
      run = null;
      middle.push(...hit.points);
    }
    if (run !== null) fill(run, fullEnd);
    const head = q.start < firstFull ? stepBuckets(readPoints({ ...q, end: firstFull - 1 }), step) : [];
    const tail = fullEnd <= q.end ? stepBuckets(readPoints({ ...q, start: fullEnd }), step) : [];
    return sortPoints([...head, ...middle, ...tail]);
  }

  return {
    /** Records one tick: in memory at once, in SQLite now or (after a failure) on a later write. Never throws. */
    write(t: Tick, nowMs = Date.now()): void {
      memory.push(t);
      while (memory.length > 0 && memory[0]!.ts < t.ts - MEMORY_MS) memory.shift();
      for (const p of t.points) {
        latest.set(p.variant, p);
        known.add(p.variant);
      }
      pending.push(t);
      if (pending.length > MAX_PENDING_TICKS) pending.shift();
      status.pending_ticks = pending.length;
      if (!ensureOpen(nowMs)) return;
      try {
        db!.transaction(() => {
          for (const p of pending) writeTick(p);
        })();
        pending.length = 0;
        status.pending_ticks = 0;
        recovered();
      } catch (err) {
        fail('write', err);
        return;
      }
      try {
        prune(nowMs);
      } catch (err) {
        fail('prune', err);
      }
    },

    /** Points in [start, end] (inclusive), oldest first, ties by variant, merged into `stepMs` buckets
     *  when given. Throws StorageUnavailableError when the range needs the database and it is down. */
    points(q: PointQuery): Point[] {
      // One-minute rows are read through the bucket cache too (as one-minute buckets): 24 h over 4
      // variants is 5,760 rows to decode otherwise.
      const step = q.stepMs ?? (q.resolution === '1m' ? MINUTE : null);
      if (step === null || q.resolution === 'raw') return readPoints(q);
      if (db === null) return stepBuckets(readPoints(q), step);
      try {
        return cachedBuckets(q, step);
      } catch (err) {
        if (err instanceof StorageUnavailableError) throw err;
        fail('read', err);
        throw new StorageUnavailableError(status.last_error ?? 'storage read failed');
      }
    },

    /** Usage rows in [start, end): one-minute rollups plus raw rows of the minute not rolled up yet, filtered. */
    usage(q: UsageQuery): UsageRow[] {
      if (db === null) throw new StorageUnavailableError(status.last_error ?? 'storage unavailable');
      try {
        const s = stmts!;
        const rolled = q.resolution === 'raw' ? q.start : Math.max(q.start, rolledUntil() ?? q.start);
        const rows = [
          ...s.usage1.all(q.start, Math.min(q.end, rolled)).map(toUsage),
          ...s.usage5.all(rolled, q.end).map(toUsage),
          ...pending.flatMap((t) => t.usage).filter((u) => u.ts >= q.start && u.ts < q.end),
        ];
        return rows.filter(
          (u) =>
            (q.variant === undefined || u.variant === q.variant) &&
            (q.client === undefined || u.client === q.client) &&
            (q.model === undefined || u.model === q.model),
        );
      } catch (err) {
        fail('read', err);
        throw new StorageUnavailableError(status.last_error ?? 'storage read failed');
      }
    },

    /** The newest point of every variant (in memory, so it works without the database). */
    latest(): Map<string, Point> {
      return latest;
    },

    /** Every variant seen in memory or in the stored history, sorted. */
    variants(): string[] {
      return [...known].sort();
    },

    status(): StorageStatus {
      return { ...status };
    },

    /** Opens the database now (startup), so history and variants are there before the first tick. */
    open(nowMs = Date.now()): boolean {
      return ensureOpen(nowMs);
    },

    close(): void {
      try {
        db?.close();
      } catch {}
      db = null;
      stmts = null;
    },
  };
}

export type Store = ReturnType<typeof createStore>;

function sortPoints(points: Point[]): Point[] {
  return points.sort((a, b) => a.ts - b.ts || (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
}

/** Points merged into one point per (step bucket, variant), oldest first, ties by variant. */
export function stepBuckets(points: readonly Point[], stepMs: number): Point[] {
  const groups = new Map<string, Point[]>();
  for (const p of points) {
    const key = `${Math.floor(p.ts / stepMs) * stepMs}\u0000${p.variant}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [p]);
    else g.push(p);
  }
  return sortPoints([...groups.values()].map((g) => mergePoints(Math.floor(g[0]!.ts / stepMs) * stepMs, g)));
}

/** Raw points merged into one point per (minute, variant). */
export const minuteBuckets = (points: readonly Point[]): Point[] => stepBuckets(points, MINUTE);

/** Usage rows added up per (bucket, variant, model, client). */
export function sumUsage(rows: readonly UsageRow[], bucket: (ts: number) => number): UsageRow[] {
  const acc = new Map<string, UsageRow>();
  for (const r of rows) {
    const ts = bucket(r.ts);
    const key = `${ts}\u0000${r.variant}\u0000${r.model}\u0000${r.client}`;
    const a = acc.get(key);
    if (a === undefined) acc.set(key, { ...r, ts, tokens: [...r.tokens], micro: [...r.micro] });
    else
      for (let i = 0; i < 4; i++) {
        a.tokens[i]! += r.tokens[i]!;
        a.micro[i]! += r.micro[i]!;
      }
  }
  return [...acc.values()];
}
