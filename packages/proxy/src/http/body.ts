// The request body: read up to the configured limit within the process-wide budget of held body
// bytes and against the upload timeouts, then parsed once as a JSON object.
import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GatewayError } from '../errors.ts';
import { asObject, NOT_JSON, parseJson } from '../json.ts';
import { isValidJson, topLevelMembers } from '../json-splice.ts';

/** Bytes held for request bodies across all requests, queued ones included (they are kept for
 *  retries, admission and routing until the exchange ends). */
export interface BodyBudget {
  /** Takes n bytes; false (and nothing taken) when that would pass the limit. */
  take(n: number): boolean;
  give(n: number): void;
  held(): number;
}

export function createBodyBudget(limit: number): BodyBudget {
  let held = 0;
  return {
    take(n) {
      if (held + n > limit) return false;
      held += n;
      return true;
    },
    give(n) {
      held -= n;
    },
    held: () => held,
  };
}

export interface UploadLimits {
  /** Largest body. */
  maxBytes: number;
  /** Longest wait for the next byte, and the window the minimum rate is checked over. */
  idleMs: number;
  /** Bytes per second the upload must average over each idleMs window (0: no minimum). */
  minRate: number;
}

/** The upload's verdict at the end of one window: pure, so the rule is tested without a clock.
 *  A window with no byte is a stall; one with fewer than minRate × window bytes is too slow,
 *  unless fewer than that were left to send. */
export function uploadVerdict(
  bytesInWindow: number,
  windowMs: number,
  remaining: number | null,
  minRate: number,
): 'ok' | 'stalled' | 'too_slow' {
  if (bytesInWindow === 0) return 'stalled';
  const need = Math.floor((minRate * windowMs) / 1000);
  const owed = remaining === null ? need : Math.min(need, remaining + bytesInWindow);
  return bytesInWindow < owed ? 'too_slow' : 'ok';
}

/**
 * Reads a request body into one buffer. A larger one than maxBytes is a 413; passing the budget a
 * 503 (BODY_BUDGET_EXCEEDED); an upload that stalls or crawls a 408. The bytes taken from the
 * budget are reported through `held` as they are taken, so the caller gives back exactly those.
 * With a declared length the buffer is allocated once (no chunk list, no concatenation copy), with
 * EDIT_ROOM_BYTES to spare past its end, and the whole length is taken from the budget up front.
 */
export function readBody(
  req: IncomingMessage,
  limits: UploadLimits,
  budget: BodyBudget,
  held: (n: number) => void,
): Promise<Buffer> {
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? null : Number(declaredHeader);
  if (declared !== null && declared > limits.maxBytes)
    return Promise.reject(new GatewayError('BODY_TOO_LARGE'));
  if (declared === 0) return Promise.resolve(Buffer.alloc(0));
  if (declared !== null) {
    if (!budget.take(declared)) return Promise.reject(budgetError());
    held(declared);
  }
  return new Promise((resolve, reject) => {
    // Unpooled, with room for the proxy's own small edits (json-splice's `spare`).
    const whole = declared === null ? null : Buffer.allocUnsafeSlow(declared + EDIT_ROOM_BYTES);
    const chunks: Buffer[] = [];
    let size = 0;
    const upload: Upload = {
      limits,
      opened: performance.now(),
      windowBytes: 0,
      remaining: () => (declared === null ? null : declared - size),
      fail: () => fail(new GatewayError('REQUEST_TIMEOUT')),
    };
    watch(upload);
    const done = () => {
      unwatch(upload);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (e: Error) => {
      done();
      reject(e);
    };
    const onData = (c: Buffer) => {
      upload.windowBytes += c.length;
      if (size + c.length > limits.maxBytes || (declared !== null && size + c.length > declared)) {
        fail(new GatewayError('BODY_TOO_LARGE'));
        return;
      }
      if (whole !== null) {
        c.copy(whole, size);
        parserCopies.add(c.length);
      } else {
        if (!budget.take(c.length)) {
          fail(budgetError());
          return;
        }
        held(c.length);
        chunks.push(c);
      }
      size += c.length;
    };
    const onEnd = () => {
      done();
      if (whole !== null) resolve(whole.subarray(0, size));
      else if (chunks.length === 1) resolve(chunks[0]!);
      else {
        const body = Buffer.concat(chunks, size);
        chunks.length = 0;
        parserCopies.add(size);
        resolve(body);
      }
    };
    const onError = (e: Error) => fail(e);
    const onClose = () => fail(new Error('client closed the connection during the upload'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/** An upload being read, as the watchdog judges it. */
interface Upload {
  readonly limits: UploadLimits;
  /** When its current window opened (performance.now() ms). */
  opened: number;
  windowBytes: number;
  remaining(): number | null;
  fail(): void;
}

/**
 * One timer per REQUEST_BODY_TIMEOUT for every upload in progress, not one per request (a timer of
 * its own cost a small request about 5 µs: created, enrolled, cleared). It ticks every quarter of
 * the window; an upload's window closes at the first tick at least idleMs after it opened, so a
 * stalled upload is cut after idleMs to 1.25 × idleMs, and the verdict uses the window's true length.
 * The timer stops at the first tick that finds no upload (not when the last one ends: one request
 * at a time would otherwise start and stop it per request), and never holds the process open.
 */
const watchdogs = new Map<number, { uploads: Set<Upload>; timer: NodeJS.Timeout }>();

function watch(u: Upload): void {
  const idleMs = u.limits.idleMs;
  let w = watchdogs.get(idleMs);
  if (w === undefined) {
    const uploads = new Set<Upload>();
    const timer = setInterval(() => tick(uploads, idleMs), Math.max(1, Math.floor(idleMs / 4))).unref();
    w = { uploads, timer };
    watchdogs.set(idleMs, w);
  }
  w.uploads.add(u);
}

function unwatch(u: Upload): void {
  watchdogs.get(u.limits.idleMs)?.uploads.delete(u);
}

function tick(uploads: Set<Upload>, idleMs: number): void {
  if (uploads.size === 0) {
    clearInterval(watchdogs.get(idleMs)!.timer);
    watchdogs.delete(idleMs);
    return;
  }
  const now = performance.now();
  for (const u of uploads) {
    const windowMs = now - u.opened;
    if (windowMs < idleMs) continue;
    const v = uploadVerdict(u.windowBytes, windowMs, u.remaining(), u.limits.minRate);
    u.opened = now;
    u.windowBytes = 0;
    if (v !== 'ok') u.fail(); // fail() unwatches: deleting the current member of a Set is safe
  }
}

/**
 * Node's HTTP parser hands each body chunk over in a buffer of its own (a copy out of its socket
 * buffer), and readBody copies it into the body: the chunk is garbage at once, but V8 frees such
 * buffers only at its next collection, which it schedules by JS allocation (tiny here) or after
 * 64 MiB of new external memory. So one 30 MiB body left ~25 MiB of dead chunks in RSS (1.6-1.8
 * bytes of RSS per body byte). A young-generation collection (the chunks never outlive their
 * 'data' event, so they are all young) after every `limit` bytes of dead chunks frees them: about
 * a millisecond per 4 MiB of upload, and only while bodies that large arrive.
 */
export function createParserCopies(limit: number, collector: () => (() => void) | null) {
  let pending = 0;
  let collections = 0;
  let collect: (() => void) | null | undefined; // looked up at the first collection
  return {
    /** n bytes of parser chunks became garbage. */
    add(n: number): void {
      pending += n;
      if (pending < limit) return;
      pending = 0;
      if (collect === undefined) collect = collector();
      if (collect === null) return;
      collections++;
      collect();
    },
    collections: () => collections,
  };
}

/** Dead parser chunks allowed before a collection: 4 MiB, a few milliseconds of a fast upload. */
export const SCAVENGE_AFTER_BYTES = 4 * 1024 * 1024;

/** V8's young-generation collection, or null where V8 offers none. The `gc` function comes from a
 *  context of its own with the flag set only for that moment: no `gc` global appears anywhere. */
export function youngCollection(): (() => void) | null {
  try {
    let gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      setFlagsFromString('--expose-gc');
      try {
        gc = runInNewContext('gc');
      } finally {
        setFlagsFromString('--no-expose-gc');
      }
    }
    if (typeof gc !== 'function') return null;
    const f = gc as (o: { type: 'minor' }) => void;
    return () => f({ type: 'minor' });
  } catch {
    return null;
  }
}

const parserCopies = createParserCopies(SCAVENGE_AFTER_BYTES, youngCollection);

/** Collections run so far for dead parser chunks (tests). */
export const parserCopyCollections = (): number => parserCopies.collections();

/** Bytes past a declared-length body that the proxy may use to edit it in place: enough for the
 *  `"stream_options":{"include_usage":true}` member. Such a body's backing store is its own. */
export const EDIT_ROOM_BYTES = 64;

function budgetError(): GatewayError {
  return new GatewayError('BODY_BUDGET_EXCEEDED', undefined, 1);
}

/** The body as a JSON object; a 400 INVALID_JSON otherwise. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const v = parseJson(body);
  if (v === NOT_JSON) throw new GatewayError('INVALID_JSON');
  const o = asObject(v);
  if (o === null) throw new GatewayError('INVALID_JSON', 'request body must be a JSON object');
  return o;
}

/** Top-level fields the request path reads from a body without its tree. */
export const TOP_LEVEL_FIELDS = ['model', 'stream', 'stream_options'] as const;

/** A large body checked as parseJsonObject checks it, without building its tree: the grammar on its
 *  bytes, then only its top-level `model`, `stream` and `stream_options` decoded. */
export function parseLargeBody(body: Buffer): Record<string, unknown> {
  if (!isValidJson(body)) throw new GatewayError('INVALID_JSON');
  const top = topLevelMembers(body, TOP_LEVEL_FIELDS);
  if (top === null) throw new GatewayError('INVALID_JSON', 'request body must be a JSON object');
  return top;
}
