// `zai-proxy statusline`: one short line for Claude Code's status bar from the proxy's /health and
// /metrics: five-hour and weekly use with their resets, the forecast, the gate, and tokens and cost
// since the proxy started. Plain Node (no tsx, no dependencies) so it starts in tens of
// milliseconds; Claude Code runs it after every message. Answers are cached in a small file for a
// few seconds, and a proxy that does not answer gets a line saying so (with the last known values).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEFAULT_URL = 'http://127.0.0.1:8080';
const DEFAULT_CACHE_MS = 5000; // Claude Code may run the command every 300 ms
const DEFAULT_TIMEOUT_MS = 500;
const MAX_BODY = 4 * 1024 * 1024; // a /metrics page is far smaller
const SHOW_DOWN_CACHE_MS = 3_600_000; // last values older than 1 h are not shown with "down"
const WINDOW_NAMES = { five_hour: '5h', weekly: 'week', daily: 'daily', unknown: 'quota' };

/**
 * The line for a state. Pure.
 * @param {{ health: any, totals: { tokens: number, cost: number } | null, fetchedAtMs: number } | null} snap
 *   the last answer of the proxy (null: never reached)
 * @param {{ nowMs: number, down: boolean, url: string, timeZone?: string, account?: string | null }} o
 */
export function renderStatusLine(snap, o) {
  if (snap === null || (o.down && o.nowMs - snap.fetchedAtMs > SHOW_DOWN_CACHE_MS)) {
    return `Z.AI proxy down (${hostOf(o.url)})`;
  }
  const parts = [];
  const head = o.down
    ? `Z.AI proxy down (${hostOf(o.url)}), ${ago(o.nowMs - snap.fetchedAtMs)} ago: `
    : 'Z.AI ';
  const q = snap.health?.quota ?? {};
  const gate = gateText(q.gate, o);
  if (gate !== null) parts.push(gate);
  if (q.enabled === true) {
    const stale = q.fresh !== true;
    const windows = Array.isArray(q.windows) ? q.windows : [];
    for (const w of windows) {
      const name = WINDOW_NAMES[w.window] ?? 'quota';
      const pct = `${Math.round(Number(w.used_fraction) * 100)}%${stale ? '?' : ''}`;
      const reset = typeof w.reset_at === 'string' ? ` ↻${when(Date.parse(w.reset_at), o)}` : '';
      parts.push(`${name} ${pct}${reset}`);
    }
    const f = forecastText(windows, o);
    if (f !== null && !stale) parts.push(f);
    if (stale) {
      const age = typeof q.sample_age_seconds === 'number' ? ` ${ago(q.sample_age_seconds * 1000)}` : '';
      parts.push(windows.length > 0 ? `(quota stale${age})` : 'quota: no sample yet');
    }
  } else if (snap.health !== null) {
    parts.push('quota not polled');
  }
  if (snap.totals !== null && snap.totals.tokens > 0) {
    parts.push(`${compact(snap.totals.tokens)} tok $${snap.totals.cost.toFixed(2)}`);
  }
  return `${head}${parts.join(' · ')}`;
}

function gateText(gate, o) {
  if (gate === undefined || gate === null || gate.enabled !== true) return null;
  const closed = Array.isArray(gate.closed) ? gate.closed : [];
  // In pass-through mode entries carry the account digest: show only this user's own.
  const mine = closed.filter(
    (e) => e.account === undefined || (o.account != null && e.account === o.account),
  );
  if (mine.length === 0) return null;
  let last = null;
  for (const e of mine) {
    const at = Date.parse(e.reset_at ?? e.next_probe_at ?? '');
    if (last === null || at > last.at) last = { at, e };
  }
  const name = WINDOW_NAMES[last.e.window] ?? 'quota';
  const how =
    last.e.reset_at !== undefined ? `reopens ${when(last.at, o)}` : `probing, next ${when(last.at, o)}`;
  return `⛔ ${name} spent, ${how}`;
}

function forecastText(windows, o) {
  const five = windows.find((w) => w.window === 'five_hour') ?? windows[0];
  const f = five?.forecast;
  if (f === undefined) return null;
  const name = WINDOW_NAMES[five.window] ?? 'quota';
  let out;
  if (f.projection === 'before_reset' && typeof f.exhausts_at === 'string') {
    out = `${name} out ~${when(Date.parse(f.exhausts_at), o)}`;
  } else if (f.projection === 'not_before_reset') out = 'pace ok';
  else return null;
  const a = f.attribution;
  if (a?.state === 'ok' && a.external_share > 0) out += ` (${Math.round(a.external_share * 100)}% elsewhere)`;
  return out;
}

// HH:MM today (or within 24 h), else a weekday.
function when(ms, o) {
  if (!Number.isFinite(ms)) return '?';
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: o.timeZone };
  if (ms - o.nowMs > 86_400_000) opts.weekday = 'short';
  return new Intl.DateTimeFormat('en-GB', opts).format(ms);
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function compact(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Sums of zai_proxy_tokens_total and zai_proxy_estimated_cost_usd_total in exposition text. */
export function totalsFromMetrics(text) {
  let tokens = 0;
  let cost = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('zai_proxy_tokens_total{')) tokens += lastNumber(line);
    else if (line.startsWith('zai_proxy_estimated_cost_usd_total{')) cost += lastNumber(line);
  }
  return { tokens, cost };
}

function lastNumber(line) {
  const v = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(v) ? v : 0;
}

// node:http is loaded only on a cache miss: a cached answer needs no network code at all.
async function get(url, timeoutMs) {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs, headers: { accept: '*/*' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error('too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The proxy's origin: --url, else ANTHROPIC_BASE_URL's origin (Claude Code's own setting), else :8080. */
export function proxyUrl(argv, env) {
  const flag = argv.find((a) => a.startsWith('--url='));
  const raw = flag !== undefined ? flag.slice(6) : (env.ANTHROPIC_BASE_URL ?? DEFAULT_URL);
  try {
    return new URL(raw).origin;
  } catch {
    return DEFAULT_URL;
  }
}

function flagMs(argv, name, def) {
  const f = argv.find((a) => a.startsWith(`--${name}=`));
  const n = f === undefined ? Number.NaN : Number(f.slice(name.length + 3));
  return Number.isFinite(n) && n >= 0 ? n : def;
}

/** This user's account as the proxy names it in pass-through mode (sha256: + 16 hex), or null. */
export function accountOf(env) {
  const key = env.ANTHROPIC_AUTH_TOKEN || env.ANTHROPIC_API_KEY;
  if (!key) return null;
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

function readCache(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function writeCache(path, snap) {
  try {
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(snap), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // A read-only temp dir only costs the cache.
  }
}

/** Runs the command: prints one line, always exits 0 (a status bar must never show an error trace). */
export async function main(argv = process.argv.slice(2), env = process.env) {
  const url = proxyUrl(argv, env);
  const cacheMs = flagMs(argv, 'cache-ms', DEFAULT_CACHE_MS);
  const timeoutMs = flagMs(argv, 'timeout-ms', DEFAULT_TIMEOUT_MS);
  const cachePath =
    argv.find((a) => a.startsWith('--cache-file='))?.slice(13) ??
    join(
      tmpdir(),
      `zai-proxy-statusline-${createHash('sha256').update(url).digest('hex').slice(0, 12)}.json`,
    );
  const now = Date.now();
  const o = { nowMs: now, down: false, url, account: accountOf(env) };
  const cached = readCache(cachePath);
  if (cached !== null && cached.ok === true && now - cached.fetchedAtMs < cacheMs) {
    process.stdout.write(`${renderStatusLine(cached, o)}\n`);
    return;
  }
  let snap;
  try {
    const [health, metrics] = await Promise.all([
      get(`${url}/health`, timeoutMs),
      get(`${url}/metrics`, timeoutMs).catch(() => null),
    ]);
    snap = {
      ok: true,
      fetchedAtMs: now,
      health: JSON.parse(health),
      totals: metrics === null ? null : totalsFromMetrics(metrics),
    };
    writeCache(cachePath, snap);
  } catch {
    const last = cached !== null && cached.fetchedAtMs !== undefined ? cached : null;
    process.stdout.write(`${renderStatusLine(last, { ...o, down: true })}\n`);
    return;
  }
  process.stdout.write(`${renderStatusLine(snap, o)}\n`);
}
