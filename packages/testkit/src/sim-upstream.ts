/** The simulated Z.AI upstream: an HTTP server on 127.0.0.1 that journals every request it receives. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { authErrorBody, errorBody } from './error-envelopes.ts';
import { createStreamGate } from './event-pacer.ts';
import { type Exchange, openExchange, sendBody } from './exchange.ts';
import { createEntry, type JournalEntry, parseJsonBody } from './journal.ts';
import type { QuotaState } from './quota.ts';
import { findRoute, isAuthorized, type Route } from './routes.ts';
import { createPlayer } from './scenario-player.ts';
import { OK, parseScenario, type ScenarioSpec, validateScenario } from './scenarios.ts';
import { inputTokens, type TokenModel } from './token-model.ts';
import { zaiError } from './zai-errors.ts';

export interface SimOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, credentials must equal it; otherwise any non-empty credential is accepted. */
  apiKey?: string;
  /** Words (and output tokens) per reply; default 12. */
  tokensPerReply?: number;
  /** How input tokens are counted: 'bytes' (default, JSON bytes of messages / 4) or 'glm'
   *  (cl100k_base × 1.27 plus template tokens, standing in for GLM's tokenizer). */
  tokenModel?: TokenModel;
  /** Account-wide cap on generating requests in flight (messages, chat completions): one more is
   *  answered at once with Z.AI's 429 code 1302, as Z.AI limits an account. Unset: no cap. */
  maxInFlight?: number;
}

/** A scenario string (`name;k=v;...`, parsed like the x-sim-scenario header) or a spec. */
export type Scenario = string | ScenarioSpec;

export interface SimUpstream {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  journal: JournalEntry[];
  /** FIFO: each following request without x-sim-scenario takes the next one its route accepts. */
  enqueue(...scenarios: Scenario[]): void;
  /** Releases one gated stream event (banked if no stream is waiting). */
  advance(): void;
  /** Polls the journal until pred holds; rejects after timeoutMs (default 2000). */
  waitFor(pred: (j: JournalEntry[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Changes the account-wide in-flight cap (null removes it), as Z.AI moves it without notice. */
  setMaxInFlight(n: number | null): void;
  /** Generating requests in flight now, and the most seen at once since start or reset(). */
  inFlight(): { now: number; peak: number };
  /** Clears journal, queue, fail_then_ok counters, banked advances and the quota's token count. */
  reset(): void;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}

const DEFAULT_TOKENS_PER_REPLY = 12;
const DEFAULT_WAIT_MS = 2000;
const WAIT_POLL_MS = 10;
const JSON_TYPE = 'application/json';

function checkOptions(opts: SimOptions): void {
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new RangeError(`SimOptions.port must be an integer in 0..65535, got ${opts.port}`);
  }
  const t = opts.tokensPerReply;
  if (t !== undefined && (!Number.isInteger(t) || t < 0)) {
    throw new RangeError(`SimOptions.tokensPerReply must be a non-negative integer, got ${t}`);
  }
  if (opts.apiKey === '') throw new RangeError('SimOptions.apiKey must not be empty (leave it unset)');
  if (opts.tokenModel !== undefined && opts.tokenModel !== 'bytes' && opts.tokenModel !== 'glm') {
    throw new RangeError(`SimOptions.tokenModel must be 'bytes' or 'glm', got ${String(opts.tokenModel)}`);
  }
  checkCap(opts.maxInFlight);
}

function checkCap(n: number | null | undefined): void {
  if (n !== undefined && n !== null && (!Number.isInteger(n) || n < 0)) {
    throw new RangeError(`maxInFlight must be a non-negative integer, got ${n}`);
  }
}

/** Routes that generate, and so count against Z.AI's concurrency limit. */
const CAPPED_ROUTES = new Set(['messages', 'chat_completions']);
const CONCURRENCY_ERROR = zaiError({ name: 'zai_error', code: '1302' });

// Keeps what arrived even when the client goes away mid-body, so the journal shows it.
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
  });
}

// Turns fail_then_ok into the plain sequence it stands for: N failures, then ok.
function expand(spec: ScenarioSpec): ScenarioSpec[] {
  if (spec.name !== 'fail_then_ok') return [spec];
  const route = spec.route ?? spec.inner!.route;
  const pin = route === undefined ? {} : { route };
  const out: ScenarioSpec[] = [];
  for (let i = 0; i < (spec.times ?? 1); i++) out.push({ ...spec.inner!, ...pin });
  out.push({ name: 'ok', ...pin });
  return out;
}

/** Starts the sim; resolves once it is listening. */
export async function startSimUpstream(opts: SimOptions = {}): Promise<SimUpstream> {
  checkOptions(opts);
  const host = opts.host ?? '127.0.0.1';
  const journal: JournalEntry[] = [];
  const queue: ScenarioSpec[] = [];
  const failCounts = new Map<string, number>();
  const gate = createStreamGate();
  const quota: QuotaState = { startedAt: Math.floor(Date.now() / 1000) * 1000, tokensServed: 0 };
  const model = opts.tokenModel ?? 'bytes';
  const play = createPlayer({
    tokensPerReply: opts.tokensPerReply ?? DEFAULT_TOKENS_PER_REPLY,
    inputTokens: (json) => inputTokens(model, json),
    gate,
    quota,
  });
  const open = new Set<Exchange>();
  const sockets = new Set<Socket>();
  let nextId = 1; // never reset, so an id stays unique across reset()
  let cap = opts.maxInFlight ?? null;
  let inFlight = 0;
  let peak = 0;

  // Header first, then the route's next queued scenario, then ok. A string is the error message.
  function pick(req: IncomingMessage, route: Route): ScenarioSpec | string {
    const header = req.headers['x-sim-scenario'];
    const raw = Array.isArray(header) ? header[0] : header;
    if (raw !== undefined && raw.trim() !== '') {
      let spec: ScenarioSpec;
      try {
        spec = parseScenario(raw);
      } catch (err) {
        return (err as Error).message;
      }
      if (spec.name !== 'fail_then_ok') return spec;
      // Counted per (scenario text, x-request-id), so parallel tests with distinct ids don't interfere.
      const key = `${raw}\u0000${String(req.headers['x-request-id'] ?? '')}`;
      const seen = failCounts.get(key) ?? 0;
      failCounts.set(key, seen + 1);
      return seen < (spec.times ?? 1) ? spec.inner! : OK;
    }
    const i = queue.findIndex(
      (s) => s.route === route.name || (s.route === undefined && route.takesUnpinned),
    );
    return i === -1 ? OK : queue.splice(i, 1)[0]!;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry = createEntry(nextId++, req.method ?? 'GET', req.url ?? '/', req.headers);
    journal.push(entry);
    const x = openExchange(req, res, entry);
    open.add(x);
    res.on('close', () => open.delete(x));
    entry.body = await readBody(req);
    entry.json = parseJsonBody(entry.body);
    if (x.closed) return;

    const route = findRoute(entry.method, entry.path);
    if (route === undefined) {
      const body = JSON.stringify({
        error: { type: 'not_found_error', message: `sim: no route for ${entry.method} ${entry.path}` },
      });
      return sendBody(x, 404, JSON_TYPE, body);
    }
    if (!isAuthorized(route, req.headers, opts.apiKey)) {
      return sendBody(x, 401, JSON_TYPE, authErrorBody(route.surface));
    }
    if (cap !== null && CAPPED_ROUTES.has(route.name)) {
      if (inFlight >= cap) {
        entry.scenario = 'concurrency_cap';
        const e = CONCURRENCY_ERROR;
        return sendBody(x, e.status, JSON_TYPE, e.body, undefined, e.headers);
      }
      inFlight++;
      if (inFlight > peak) peak = inFlight;
      res.once('close', () => {
        inFlight--;
      });
    }
    const spec = pick(req, route);
    if (typeof spec === 'string') {
      return sendBody(
        x,
        400,
        JSON_TYPE,
        errorBody(route.surface, 400, `sim: invalid x-sim-scenario: ${spec}`),
      );
    }
    entry.scenario = spec.name;
    x.extraHeaders = spec.headers ?? [];
    await play(x, route, spec);
  }

  const server = createServer({ noDelay: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A sim bug must show up in the test output, not as a hung request.
      console.error('sim upstream: handler failed:', err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': JSON_TYPE });
        res.end(JSON.stringify({ error: { type: 'sim_bug', message: String(err) } }));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    journal,
    enqueue(...scenarios) {
      // Parse everything before queueing anything, so a typo leaves the queue untouched.
      const specs = scenarios.map((s) => (typeof s === 'string' ? parseScenario(s) : validateScenario(s)));
      for (const spec of specs) queue.push(...expand(spec));
    },
    advance: () => gate.advance(),
    setMaxInFlight(n) {
      checkCap(n);
      cap = n;
    },
    inFlight: () => ({ now: inFlight, peak }),
    async waitFor(pred, timeoutMs = DEFAULT_WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(journal)) {
        if (Date.now() >= deadline) {
          throw new Error(
            `waitFor: condition not met within ${timeoutMs} ms (journal: ${journal.length} entries)`,
          );
        }
        await sleep(WAIT_POLL_MS);
      }
    },
    reset() {
      journal.length = 0;
      queue.length = 0;
      failCounts.clear();
      gate.reset();
      quota.tokensServed = 0;
      peak = inFlight;
    },
    async close() {
      // The sim ends these itself, so they are not journalled as client aborts.
      for (const x of open) x.simDestroyed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
