/** One request/response pair in flight: every body byte goes through here so the journal can hash it. */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { JournalEntry } from './journal.ts';

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly entry: JournalEntry;
  /** Extra response headers the scenario asked for (header=Name:Value). */
  extraHeaders: ReadonlyArray<readonly [string, string]>;
  hash: Hash;
  bytes: number;
  /** The connection is gone (either side); every pending wait has been woken. */
  closed: boolean;
  /** The sim ended the connection on purpose, so it is not a client abort. */
  simDestroyed: boolean;
  /** Wakes the one pending wait (timer, drain, gate) early when the connection closes. */
  wake: (() => void) | null;
  /** Resolves when the connection closes; stalled responses wait on it. */
  readonly closedPromise: Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/** Wraps a request; the returned exchange finalises its journal entry when the response closes. */
export function openExchange(req: IncomingMessage, res: ServerResponse, entry: JournalEntry): Exchange {
  let onClosed: () => void = () => {};
  const x: Exchange = {
    req,
    res,
    entry,
    extraHeaders: [],
    hash: createHash('sha256'),
    bytes: 0,
    closed: false,
    simDestroyed: false,
    wake: null,
    closedPromise: new Promise<void>((resolve) => {
      onClosed = resolve;
    }),
  };
  res.on('close', () => {
    x.closed = true;
    if (!res.writableFinished && !x.simDestroyed) entry.aborted = true;
    finalize(x);
    x.wake?.();
    onClosed();
  });
  return x;
}

// The digest is taken once all bytes are handed to the socket, i.e. before the client can read the
// last of them, so a test that has the whole body also sees the final hash.
function finalize(x: Exchange): void {
  if (x.entry.responseSha256 !== '') return;
  x.entry.responseBytes = x.bytes;
  x.entry.responseSha256 = x.hash.digest('hex');
}

/** Sends the response head; the scenario's extra headers and x-sim-request are added. */
export function sendHead(x: Exchange, status: number, headers: OutgoingHttpHeaders): void {
  if (x.closed || x.res.headersSent) return;
  const all: OutgoingHttpHeaders = { ...headers, 'x-sim-request': String(x.entry.id) };
  for (const [name, value] of x.extraHeaders) all[name.toLowerCase()] = value;
  x.res.writeHead(status, all);
  x.entry.status = status;
}

function waitFor(x: Exchange, arm: (done: () => void) => () => void): Promise<void> {
  if (x.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let disarm: () => void = () => {};
    let fired = false;
    // A late second call (a gate release after close) must not clear a newer wait's wake.
    const done = () => {
      if (fired) return;
      fired = true;
      disarm();
      x.wake = null;
      resolve();
    };
    x.wake = done;
    disarm = arm(done);
  });
}

/** Sleeps ms, or less if the connection closes meanwhile. */
export function pause(x: Exchange, ms: number): Promise<void> {
  return waitFor(x, (done) => {
    const t = setTimeout(done, ms);
    return () => clearTimeout(t);
  });
}

/** Waits for the next turn of the event loop, so a receiver sees separate reads. */
function tick(x: Exchange): Promise<void> {
  return waitFor(x, (done) => {
    const t = setImmediate(done);
    return () => clearImmediate(t);
  });
}

function drained(x: Exchange): Promise<void> {
  return waitFor(x, (done) => {
    x.res.on('drain', done);
    return () => x.res.off('drain', done);
  });
}

/** Parks until something calls the returned release, or the connection closes. */
export function park(x: Exchange, register: (release: () => void) => void): Promise<void> {
  return waitFor(x, (done) => {
    register(done);
    return () => {};
  });
}

async function writeRaw(x: Exchange, buf: Buffer): Promise<boolean> {
  if (x.closed) return false;
  x.hash.update(buf);
  x.bytes += buf.length;
  if (!x.res.write(buf)) await drained(x);
  return !x.closed;
}

/** Writes body bytes, in `chunk`-byte pieces with a tick between them when chunk is set; false once closed. */
export async function writeBody(x: Exchange, buf: Buffer, chunk?: number): Promise<boolean> {
  if (chunk === undefined || chunk >= buf.length) return writeRaw(x, buf);
  for (let at = 0; at < buf.length; at += chunk) {
    if (at > 0) await tick(x);
    if (!(await writeRaw(x, buf.subarray(at, at + chunk)))) return false;
  }
  return true;
}

/** Ends the response, optionally with a last piece of body. */
export function endBody(x: Exchange, last: Buffer = EMPTY): void {
  if (x.closed) return;
  x.hash.update(last);
  x.bytes += last.length;
  finalize(x);
  x.res.end(last);
}

const FLUSH_WAIT_MS = 1000; // give up on a client that reads nothing and reset anyway

/**
 * Destroys the connection on purpose (a simulated network fault), after the bytes already written
 * have left: http corks the socket until the next tick, and destroy() would drop them.
 */
export async function destroyConnection(x: Exchange): Promise<void> {
  x.simDestroyed = true;
  finalize(x);
  const s = x.req.socket;
  const deadline = Date.now() + FLUSH_WAIT_MS;
  while (!s.destroyed && (s.writableLength > 0 || s.writableCorked > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  s.destroy();
}

/** A whole JSON (or other) body with Content-Length, honouring `chunk`. */
export async function sendBody(
  x: Exchange,
  status: number,
  contentType: string,
  body: string | Buffer,
  chunk?: number,
  headers: OutgoingHttpHeaders = {},
): Promise<void> {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  sendHead(x, status, { ...headers, 'content-type': contentType, 'content-length': buf.length });
  if (chunk === undefined) return endBody(x, buf);
  if (await writeBody(x, buf, chunk)) endBody(x);
}
