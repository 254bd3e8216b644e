// Local token counting with cl100k_base (gpt-tokenizer), large texts counted on a worker thread.
//
// No GLM-4 tokenizer is published for offline use, so cl100k is an estimate: the upstream's
// `usage` stays the source of truth and this only fills in when it is missing. The counting itself lives
// in cl100k-count.mjs (shared with the worker), which also keeps pathological inputs linear.
import { Worker } from 'node:worker_threads';

/** Counts tokens of text; see createTokenCounter. */
export interface TokenCounter {
  /** 'fallback' = UTF-8 bytes / 4 (min 1 for non-empty text), used when the tokenizer cannot load. */
  readonly mode: 'tiktoken' | 'fallback';
  /** Synchronous count, for small inputs. */
  count(text: string): number;
  /** Counts off the main thread when text is large (> workerThresholdChars), else inline. */
  countAsync(text: string): Promise<number>;
  /** Stops the worker; later calls count inline. */
  close(): Promise<void>;
  /** How many counts the worker thread has answered (lets tests and metrics see it is used). */
  readonly workerJobs: number;
  /** Why the tokenizer could not load (fallback mode only), for the startup warning. */
  readonly loadError: string | null;
}

/** Options of createTokenCounter. */
export interface TokenCounterOptions {
  /** Skip loading the tokenizer and use the bytes/4 estimate. */
  forceFallback?: boolean;
  /** Texts longer than this (UTF-16 units) go to the worker; default WORKER_THRESHOLD_CHARS. */
  workerThresholdChars?: number;
}

/** Above this a count goes to the worker: cl100k runs at ~13 MB/s warm and ~5 MB/s cold (bench/tokenizer.bench.ts),
 *  so 32 Ki chars is a few ms of main-thread time, less than a worker round trip is worth below it. */
export const WORKER_THRESHOLD_CHARS = 32 * 1024;

const WORKER_URL = new URL('./token-worker.mjs', import.meta.url);

type CountFn = (text: string) => number;

/** Token estimate without a tokenizer: UTF-8 bytes / 4, at least 1 for non-empty text (as the original). */
export function countByBytes(text: string): number {
  if (text.length === 0) return 0;
  return Math.max(1, Math.floor(Buffer.byteLength(text, 'utf8') / 4));
}

/** Loads cl100k_base from gpt-tokenizer; on load failure returns the fallback counter. */
export async function createTokenCounter(opts: TokenCounterOptions = {}): Promise<TokenCounter> {
  const threshold = opts.workerThresholdChars ?? WORKER_THRESHOLD_CHARS;
  if (opts.forceFallback) return inlineCounter('fallback', countByBytes, 'forced by configuration');
  let bpe: CountFn;
  try {
    // the same module the worker runs, so inline and worker counts agree
    bpe = (await import('./cl100k-count.mjs')).countCl100k;
    bpe('warm up'); // fail here, not on the first request
  } catch (err) {
    return inlineCounter('fallback', countByBytes, (err as Error).message);
  }
  return workerCounter(bpe, threshold);
}

function inlineCounter(mode: TokenCounter['mode'], count: CountFn, loadError: string | null): TokenCounter {
  return {
    mode,
    count,
    countAsync: (text) => Promise.resolve(count(text)),
    close: () => Promise.resolve(),
    workerJobs: 0,
    loadError,
  };
}

interface Job {
  text: string;
  resolve: (n: number) => void;
}

function workerCounter(count: CountFn, threshold: number): TokenCounter {
  const pending = new Map<number, Job>();
  let worker: Worker | null = null;
  let usable = true; // false once the worker failed or the counter was closed: count inline from then on
  let nextId = 0;
  let jobs = 0;

  // Jobs whose worker went away are still answered, inline.
  const settleAll = () => {
    for (const job of pending.values()) job.resolve(count(job.text));
    pending.clear();
  };

  const onMessage = (msg: { id: number; count: number }) => {
    const job = pending.get(msg.id);
    if (job === undefined) return;
    pending.delete(msg.id);
    if (msg.count >= 0) {
      jobs++;
      job.resolve(msg.count);
    } else {
      job.resolve(count(job.text));
    }
    if (pending.size === 0) worker?.unref(); // idle: don't keep the process alive
  };

  const onGone = () => {
    usable = false;
    worker = null;
    settleAll();
  };

  const start = (): Worker | null => {
    try {
      // execArgv: [] because the script is plain .mjs and needs no tsx loader
      const w = new Worker(WORKER_URL, { execArgv: [] });
      w.on('message', onMessage);
      w.on('error', onGone);
      w.on('exit', onGone);
      return w;
    } catch {
      usable = false;
      return null;
    }
  };

  return {
    mode: 'tiktoken',
    loadError: null,
    count,
    countAsync(text) {
      if (!usable || text.length <= threshold) return Promise.resolve(count(text));
      worker ??= start(); // lazily: an idle process never starts a thread
      const w = worker;
      if (w === null) return Promise.resolve(count(text));
      const id = nextId++;
      return new Promise<number>((resolve) => {
        pending.set(id, { text, resolve });
        w.ref(); // a pending count keeps the process alive until it is answered
        w.postMessage({ id, text });
      });
    },
    async close() {
      usable = false;
      const w = worker;
      worker = null;
      if (w !== null) {
        w.off('exit', onGone);
        w.off('error', onGone);
        await w.terminate();
      }
      settleAll();
    },
    get workerJobs() {
      return jobs;
    },
  };
}
