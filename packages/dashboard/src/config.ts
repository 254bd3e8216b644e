// Every environment variable of the dashboard, parsed and validated once at startup into a frozen
// Config. Nothing else in the dashboard reads process.env.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Startup configuration error; `variables` names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variables: string[],
    details: string[],
  ) {
    super(`invalid configuration: ${details.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/y;

/** Parses a Go-style duration (`500ms`, `5s`, `1h30m`, plus `d` for days) or a bare number of seconds into ms; null if invalid. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    DURATION_PART.lastIndex = i;
    const m = DURATION_PART.exec(s);
    if (m === null) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    i = DURATION_PART.lastIndex;
  }
  return i === 0 ? null : total;
}

/** One scrape target: `name=url` or a plain URL (named by its host:port). */
export interface ScrapeTarget {
  name: string;
  url: string;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** `a=http://x/metrics,http://y:8080/metrics` → targets; throws a message on a bad entry. */
export function parseTargets(text: string): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const hasName = eq > 0 && !entry.slice(0, eq).includes('/');
    const name = hasName ? entry.slice(0, eq).trim() : '';
    const url = hasName ? entry.slice(eq + 1).trim() : entry;
    if (!/^https?:\/\//.test(url) || !URL.canParse(url))
      throw new Error(`"${entry}": expected an http(s) URL`);
    const finalName = hasName ? name : new URL(url).host;
    if (!NAME.test(finalName)) throw new Error(`"${entry}": target name must match ${NAME.source}`);
    if (out.some((t) => t.name === finalName)) throw new Error(`"${entry}": duplicate target name`);
    out.push({ name: finalName, url });
  }
  if (out.length === 0) throw new Error('expected at least one target');
  return out;
}

/** `:8081`, `127.0.0.1:8081`, `[::1]:8081` or a bare port → host and port. */
export function parseListenAddr(text: string): { host: string; port: number } | null {
  const s = text.trim();
  const m = /^\d{1,5}$/.test(s) ? [s, undefined, '', s] : /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? (m[2] === undefined || m[2] === '' ? '0.0.0.0' : m[2]);
  return { host, port };
}

// Unset or empty means "use the default"; a present value must be valid.
const opt = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

const custom = <T>(def: T, parse: (v: string) => T | null, expected: string) =>
  opt(
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return def;
        const r = parse(v);
        if (r === null) {
          ctx.addIssue({ code: 'custom', message: `expected ${expected}, got "${v}"` });
          return z.NEVER;
        }
        return r;
      }),
  );

const duration = (defMs: number, minMs: number) =>
  custom(
    defMs,
    (v) => {
      const ms = parseDuration(v);
      return ms !== null && ms >= minMs ? ms : null;
    },
    `a duration like 5s, 24h or 7d (at least ${minMs} ms)`,
  );

const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  opt(z.coerce.number().int().min(min).max(max).default(def));

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * The web UI build, looked up from this module's own location: `dist/web` beside the bundle
 * `dist/dashboard/main.js` (the production build and the npm package copy it there), else the web
 * package's own `packages/web/dist` when running from source. The first holding an index.html wins;
 * with neither, the source location (the "not built" page says how to build it).
 */
export function defaultWebDist(base: string | URL = import.meta.url): string {
  const candidates = [new URL('../web', base), new URL('../../web/dist', base)].map((u) => fileURLToPath(u));
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[1]!;
}
const DEFAULT_WEB_DIST = defaultWebDist();

const Env = z.object({
  LISTEN_ADDR: custom({ host: '0.0.0.0', port: 8081 }, parseListenAddr, 'host:port or :port'),
  SCRAPE_TARGETS: custom<ScrapeTarget[]>(
    [{ name: 'local', url: 'http://127.0.0.1:8080/metrics' }],
    (v) => {
      try {
        return parseTargets(v);
      } catch {
        return null;
      }
    },
    'comma-separated URLs or name=URL entries',
  ),
  SCRAPE_INTERVAL: duration(5_000, 100), // 5 s; 0 made the original's ticker panic
  SCRAPE_TIMEOUT: duration(3_000, 1), // 3 s
  SCRAPE_MAX_BYTES: int(16 * 1024 * 1024, 1024), // 16 MiB: a proxy's exposition is a few hundred KiB
  RETENTION_5S: duration(86_400_000, 60_000), // 24 h of raw points
  RETENTION_1M: duration(604_800_000, 3_600_000), // 7 d of one-minute rollups
  DB_PATH: opt(z.string().default('.data/dashboard.db')),
  PROMETHEUS_URL: opt(
    z
      .string()
      .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'expected an http(s) URL')
      .optional(),
  ),
  REPORT_TIMEZONE: opt(z.string().default('UTC').refine(isTimeZone, 'expected an IANA time zone')),
  DASHBOARD_TOKEN: opt(z.string().min(8, 'expected at least 8 characters').optional()),
  CANARY_MIN_SAMPLE: int(50, 1),
  CANARY_BASELINE: opt(z.string().regex(NAME, 'expected a variant name').default('production')),
  WEB_DIST: opt(z.string().default(DEFAULT_WEB_DIST)),
  SHUTDOWN_TIMEOUT: duration(10_000, 0), // 10 s
  LOG_LEVEL: opt(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
});

export type Config = Readonly<z.infer<typeof Env>>;

/** Every environment variable the dashboard reads (docs are checked against this list). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(Env.shape);

/** Parses and validates the environment; throws ConfigError naming every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = Env.safeParse(env);
  if (!r.success) {
    const names = [...new Set(r.error.issues.map((i) => String(i.path[0])))];
    throw new ConfigError(
      names,
      r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`),
    );
  }
  const c = r.data;
  if (c.RETENTION_1M < c.RETENTION_5S) {
    throw new ConfigError(['RETENTION_1M'], ['RETENTION_1M: must be at least RETENTION_5S']);
  }
  return Object.freeze(c);
}
