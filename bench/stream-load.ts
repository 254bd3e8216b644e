// Many concurrent paced SSE streams from one process, each event timestamped on arrival: time to first
// byte, each gap between events minus the pacing interval (its lateness), total time, failures.
// Run in-process for small counts, or spread over client processes (stream-client-process.ts) so
// the load generator is not the limit.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

export interface StreamRun {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Concurrent streams, their starts spread evenly over rampMs. */
  streams: number;
  rampMs: number;
  /** The sim's pacing: ms between events. */
  intervalMs: number;
  timeoutMs: number;
}

export interface StreamResult {
  /** Per gap between two events of one stream: the gap minus intervalMs, ms. */
  lateMs: number[];
  /** Per successful stream: first byte, and the whole stream, ms from sending. */
  ttfbMs: number[];
  totalMs: number[];
  /** Streams that failed: a connection error, a non-200 status, or no message_stop at the end. */
  errors: number;
  /** Events received over every stream. */
  events: number;
}

const STOP = Buffer.from('event: message_stop');
const EVENT_END = Buffer.from('\n\n');

function countEvents(chunk: Buffer): number {
  let n = 0;
  for (let at = chunk.indexOf(EVENT_END); at !== -1; at = chunk.indexOf(EVENT_END, at + 2)) n++;
  return n;
}

const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

/** Opens `streams` streams (one connection each), reads each to its end, and times every event. */
export async function runStreams(o: StreamRun): Promise<StreamResult> {
  const pool = new Pool(o.origin, {
    connections: o.streams,
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  });
  const out: StreamResult = { lateMs: [], ttfbMs: [], totalMs: [], errors: 0, events: 0 };
  const body = Buffer.from(o.body);
  const one = async (delayMs: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, delayMs));
    const t0 = process.hrtime.bigint();
    let prev = 0n;
    let sawStop = false;
    try {
      const r = await pool.request({ method: 'POST', path: o.path, headers: o.headers, body });
      if (r.statusCode !== 200) {
        await r.body.dump();
        out.errors++;
        return;
      }
      for await (const c of r.body) {
        const chunk = c as Buffer;
        const now = process.hrtime.bigint();
        const n = countEvents(chunk);
        if (n === 0) continue;
        if (prev === 0n) out.ttfbMs.push(ms(t0, now));
        else out.lateMs.push(ms(prev, now) - o.intervalMs);
        // Events that arrived together: all but the first came with no gap at all.
        for (let i = 1; i < n; i++) out.lateMs.push(-o.intervalMs);
        out.events += n;
        prev = now;
        if (!sawStop && chunk.includes(STOP)) sawStop = true;
      }
    } catch {
      out.errors++;
      return;
    }
    if (!sawStop) out.errors++;
    else out.totalMs.push(ms(t0, process.hrtime.bigint()));
  };
  try {
    await Promise.all(Array.from({ length: o.streams }, (_, i) => one((o.rampMs * i) / o.streams)));
  } finally {
    await pool.close();
  }
  return out;
}

/** Concatenates the results of several client processes. */
export function mergeResults(parts: readonly StreamResult[]): StreamResult {
  return {
    lateMs: parts.flatMap((p) => p.lateMs),
    ttfbMs: parts.flatMap((p) => p.ttfbMs),
    totalMs: parts.flatMap((p) => p.totalMs),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    events: parts.reduce((n, p) => n + p.events, 0),
  };
}

export interface StreamClients {
  /** Splits o.streams over the client processes, runs them together, and merges what they saw. */
  run(o: StreamRun): Promise<StreamResult>;
  stop(): void;
}

/** Starts `n` load-generator processes for streams (each its own event loop). */
export function startStreamClients(n: number): StreamClients {
  const script = fileURLToPath(new URL('./stream-client-process.ts', import.meta.url));
  const kids = Array.from({ length: n }, () =>
    fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  let nextId = 0;
  const ask = (k: (typeof kids)[number], o: StreamRun) =>
    new Promise<StreamResult>((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (m: { id: number; result?: StreamResult; error?: string }) => {
        if (m.id !== id) return;
        k.off('message', onMessage);
        k.off('exit', onExit);
        if (m.result !== undefined) resolve(m.result);
        else reject(new Error(`stream client: ${m.error}`));
      };
      const onExit = () => reject(new Error('stream client exited'));
      k.on('message', onMessage);
      k.once('exit', onExit);
      k.send({ id, run: o });
    });
  return {
    async run(o) {
      const share = (i: number) => Math.floor(o.streams / n) + (i < o.streams % n ? 1 : 0);
      const parts = await Promise.all(
        kids.map((k, i) => (share(i) === 0 ? null : ask(k, { ...o, streams: share(i) }))),
      );
      return mergeResults(parts.filter((p) => p !== null));
    },
    stop() {
      for (const k of kids) k.kill('SIGTERM');
    },
  };
}
