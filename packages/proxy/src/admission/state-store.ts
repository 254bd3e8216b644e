// Admission state that outlives one request: learned limits, the quota gate, anything that must be
// account-wide. Small JSON documents by key, each with an optional expiry. The local store keeps
// them in memory and in a state file (so a restart does not re-learn from scratch); the Redis store
// (redis-store.ts) shares them between every replica of one Z.AI account.
//
// Documents change rarely (a limit cut, a gate closing), never per request: writers call set() on a
// change, and the local store coalesces file writes so a burst of changes is one write.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';

/** Shared, expiring documents by key. Keys are `<area>:<account>` (`concurrency:default`). */
export interface StateStore {
  /** 'local': this process and its state file; 'redis': every replica sharing REDIS_URL. */
  readonly source: 'local' | 'redis';
  /** The document, or null when absent, expired or unreadable. */
  get(key: string): Promise<unknown>;
  /** Stores a JSON-serialisable document; it expires ttlMs from now when ttlMs > 0. */
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Flushes pending writes and releases connections. */
  close(): Promise<void>;
}

/** The state file: every document with its expiry (Unix ms, 0 = none) and when it was written. */
interface FileShape {
  version: 1;
  docs: Record<string, { value: unknown; expiresAt: number; writtenAt: number }>;
}

export interface LocalStoreOptions {
  /** State file path; null keeps state in memory only. */
  path: string | null;
  /** Documents written longer ago than this are ignored on load (RATE_LIMIT_STATE_MAX_AGE). */
  maxAgeMs: number;
  now: () => number;
  log: Logger;
  /** Coalescing delay of file writes. */
  flushDelayMs?: number;
}

export interface LocalStore extends StateStore {
  /** Writes the file now if anything changed (tests and shutdown). */
  flush(): void;
  /** Where documents were restored from at startup ('file' when the file held usable documents). */
  readonly restored: boolean;
}

const FLUSH_DELAY_MS = 1000; // 1 s: limits move in bursts; one write per burst is enough

/** Memory + state file store. A missing, corrupt, stale or unwritable file is logged, never fatal. */
export function createLocalStore(o: LocalStoreOptions): LocalStore {
  const docs = new Map<string, { value: unknown; expiresAt: number; writtenAt: number }>();
  const restored = o.path !== null && load(o.path);
  let dirty = false;
  let timer: NodeJS.Timeout | null = null;
  let warned = false;

  function load(path: string): boolean {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        o.log.warn(
          { path, err: (err as Error).message },
          'Admission state: cannot read state file; starting fresh',
        );
      else
        o.log.info(
          { path },
          'Admission state: no state file yet; starting from the configured initial limits',
        );
      return false;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      o.log.warn({ path }, 'Admission state: state file is not valid JSON; ignoring it');
      return false;
    }
    const now = o.now();
    const fileAgeFrom = () => {
      try {
        return statSync(path).mtimeMs;
      } catch {
        return 0;
      }
    };
    const entries = fileEntries(parsed, fileAgeFrom);
    if (entries === null) {
      o.log.warn({ path }, 'Admission state: state file has an unknown shape; ignoring it');
      return false;
    }
    let kept = 0;
    for (const [key, d] of entries) {
      if (d.expiresAt > 0 && d.expiresAt <= now) continue;
      if (!(now - d.writtenAt <= o.maxAgeMs)) {
        o.log.info(
          { path, key, ageMs: now - d.writtenAt, maxAgeMs: o.maxAgeMs },
          'Admission state: ignoring a stale document',
        );
        continue;
      }
      docs.set(key, d);
      kept++;
    }
    return kept > 0;
  }

  function schedule(): void {
    dirty = true;
    if (o.path === null || timer !== null) return;
    timer = setTimeout(flush, o.flushDelayMs ?? FLUSH_DELAY_MS);
    timer.unref();
  }

  function flush(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!dirty || o.path === null) return;
    dirty = false;
    const shape: FileShape = { version: 1, docs: Object.fromEntries(docs) };
    const tmp = `${o.path}.tmp-${process.pid}`;
    try {
      mkdirSync(dirname(o.path), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify(shape)}\n`, { mode: 0o644 });
      renameSync(tmp, o.path);
      warned = false;
    } catch (err) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // the directory itself is missing or unusable: there is no temp file to remove
      }
      // Once per failure streak: an unwritable path must not flood the log on every change.
      if (!warned)
        o.log.warn(
          { path: o.path, err: (err as Error).message },
          'Admission state: failed to persist state; limits still apply in memory',
        );
      warned = true;
    }
  }

  return {
    source: 'local',
    restored,
    get(key) {
      const d = docs.get(key);
      if (d === undefined) return Promise.resolve(null);
      if (d.expiresAt > 0 && d.expiresAt <= o.now()) {
        docs.delete(key);
        return Promise.resolve(null);
      }
      return Promise.resolve(d.value);
    },
    set(key, value, ttlMs = 0) {
      const now = o.now();
      docs.set(key, { value, expiresAt: ttlMs > 0 ? now + ttlMs : 0, writtenAt: now });
      schedule();
      return Promise.resolve();
    },
    delete(key) {
      if (docs.delete(key)) schedule();
      return Promise.resolve();
    },
    flush,
    close() {
      flush();
      return Promise.resolve();
    },
  };
}

// The documents of a parsed state file, or null when it is not one. The Go proxy's file
// ({"ceiling":…, "hold":…, "ts":…}) is read as the rate limiter's document of the default account,
// so an upgrade keeps the learned ceiling.
function fileEntries(
  parsed: unknown,
  mtime: () => number,
): [string, { value: unknown; expiresAt: number; writtenAt: number }][] | null {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const p = parsed as Record<string, unknown>;
  if (typeof p.ceiling === 'number') {
    const ts = typeof p.ts === 'string' ? Date.parse(p.ts) : Number.NaN;
    const writtenAt = Number.isFinite(ts) && ts > 0 ? ts : mtime();
    return [[LEGACY_RATE_KEY, { value: { ceiling: p.ceiling, hold: p.hold }, expiresAt: 0, writtenAt }]];
  }
  if (p.version !== 1 || p.docs === null || typeof p.docs !== 'object') return null;
  const out: [string, { value: unknown; expiresAt: number; writtenAt: number }][] = [];
  for (const [k, d] of Object.entries(p.docs as Record<string, unknown>)) {
    if (d === null || typeof d !== 'object') continue;
    const e = d as Record<string, unknown>;
    if (typeof e.writtenAt !== 'number' || !('value' in e)) continue;
    out.push([
      k,
      {
        value: e.value,
        expiresAt: typeof e.expiresAt === 'number' ? e.expiresAt : 0,
        writtenAt: e.writtenAt,
      },
    ]);
  }
  return out;
}

/** Key of the rate limiter's document for the proxy's own account. */
export const LEGACY_RATE_KEY = 'rate:default';
