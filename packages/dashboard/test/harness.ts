// A dashboard on 127.0.0.1 (port 0) over a scrape source whose exposition texts the test sets,
// with a fake clock and collection on demand: deterministic ticks without sleeping.
import { request } from 'node:http';
import { pino } from 'pino';
import { createDashboard, type DashboardDeps } from '../src/app.ts';
import { createScrapeSource } from '../src/collector/scrape-source.ts';
import { loadConfig } from '../src/config.ts';
import { createStore } from '../src/store/store.ts';

export const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

/** JSON from the API under test: the assertions say what shape they expect. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
export type Json = any;

export interface Harness {
  base: string;
  now: () => number;
  /** Sets what target `url` answers next (an Error = connection failure). */
  set(url: string, text: string | Error): void;
  /** Advances the clock by ms and collects once. */
  tick(ms?: number): Promise<void>;
  dash: ReturnType<typeof createDashboard>;
  close(): Promise<void>;
}

export async function startHarness(
  texts: Record<string, string | Error>,
  env: Record<string, string> = {},
  over: Partial<DashboardDeps> = {},
): Promise<Harness> {
  let now = T0;
  const current = { ...texts };
  const cfg = loadConfig({
    SCRAPE_TARGETS: Object.keys(texts)
      .map((u) => `${new URL(u).hostname}=${u}`)
      .join(','),
    DB_PATH: ':memory:',
    WEB_DIST: '/nonexistent/web-dist',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const source = createScrapeSource({
    targets: cfg.SCRAPE_TARGETS,
    timeoutMs: 1000,
    maxBytes: 1 << 22,
    fetch: async (url) => {
      const t = current[url]!;
      if (t instanceof Error) throw t;
      return t;
    },
  });
  const clock = () => now;
  const store =
    over.store ??
    createStore({ path: cfg.DB_PATH, retention5sMs: cfg.RETENTION_5S, retention1mMs: cfg.RETENTION_1M });
  const dash = createDashboard(cfg, {
    log: pino({ level: 'silent' }),
    clock,
    manualCollection: true,
    source,
    store,
    ...over,
  });
  const addr = await dash.listen(0, '127.0.0.1');
  return {
    base: `http://127.0.0.1:${addr.port}`,
    now: clock,
    set: (url, t) => {
      current[url] = t;
    },
    async tick(ms = 5000) {
      now += ms;
      await dash.collectOnce(now);
    },
    dash,
    close: () => dash.close(1000),
  };
}

/** GET (or another method) returning status, headers and parsed JSON (or text). */
export async function call(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Json;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

export interface SseFrame {
  id?: string;
  event?: string;
  data?: Json;
  retry?: number;
  comment?: string;
}

/** An /api/events stream parsed frame by frame; waitFor resolves once the frames satisfy `pred`. */
export function openEvents(base: string, headers: Record<string, string> = {}) {
  const frames: SseFrame[] = [];
  const waiters: { pred: (f: SseFrame[]) => boolean; ok: () => void }[] = [];
  let status = 0;
  let ended = false;
  let buf = '';
  const req = request(`${base}/api/events`, { headers, agent: false }, (res) => {
    status = res.statusCode!;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: SseFrame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) f.comment = line.slice(1).trim();
          else if (line.startsWith('id: ')) f.id = line.slice(4);
          else if (line.startsWith('event: ')) f.event = line.slice(7);
          else if (line.startsWith('retry: ')) f.retry = Number(line.slice(7));
          else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
        }
        frames.push(f);
      }
      check();
    });
    res.on('end', () => {
      ended = true;
      check();
    });
  });
  req.on('error', () => {
    ended = true;
    check();
  });
  req.end();
  function check() {
    for (const w of [...waiters])
      if (w.pred(frames)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok();
      }
  }
  return {
    frames,
    status: () => status,
    ended: () => ended,
    waitFor(pred: (f: SseFrame[]) => boolean): Promise<void> {
      return new Promise((ok) => {
        waiters.push({ pred, ok });
        check();
      });
    },
    close: () => req.destroy(),
  };
}
