// The one state object a proxied request carries through the request path. The response side
// (status, committed, bytes out, first byte) is written only through head/send/end, which every
// response path calls: forwarded answers, passed-through errors, proxy errors, local answers.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ClientIdentity } from './http/auth.ts';
import { parseObject } from './json.ts';
import type { ResolvedRoute } from './routes/index.ts';

/** Observes (and, where the contract allows, amends) a 2xx response on its way to the client. */
export interface ResponseTap {
  /** A stream chunk; returns the bytes to send (normally the same Buffer), or null to send nothing yet. */
  chunk(b: Buffer): Buffer | null;
  /** End of a stream; returns held-back bytes to send, if any. */
  end(): Buffer | null;
  /** A complete non-streaming body; returns the body to send (usage added where absent, which may
   *  need an off-thread count first). */
  body(b: Buffer, parsed: unknown): Buffer | Promise<Buffer>;
  /** Input tokens known before the response headers go out (for X-Token-Input), or null. */
  inputTokens(): { n: number; estimate: boolean } | null;
  /** Once, when the exchange ends (response finished or client gone): records what it consumed and
   *  returns it (null: nothing to record); a promise when it is an estimate still being counted. */
  settle(): SettledUsage | null | Promise<SettledUsage | null>;
}

/** What an exchange consumed, as recorded: for the access line. */
export interface SettledUsage {
  readonly input: number;
  readonly output: number;
  readonly cache_read: number;
  readonly cache_write: number;
  readonly source: 'provider' | 'estimate';
  /** The model label the tokens were counted under. */
  readonly model: string;
  readonly costUsd: number;
}

/** The last upstream attempt's failure when it was not an HTTP status: its kind and error text. */
export interface ExchangeFailure {
  readonly kind: string;
  readonly message: string | null;
}

/** Why the request failed, as the one error writer (or the upstream pass-through) recorded it:
 *  a proxy error's catalogue code and class, or a Z.AI error's business code and class. */
export interface ExchangeError {
  readonly code: string | null;
  readonly class: string;
  /** A Z.AI error passed through (class is a Z.AI class), not one the proxy made. */
  readonly zai: boolean;
  /** Z.AI's reset instant (Unix ms) when the error named one. */
  readonly resetAtMs: number | null;
}

/** process.hrtime.bigint() instants and the durations the overhead metric subtracts. */
export interface ExchangeTiming {
  /** Arrival. */
  readonly arrived: bigint;
  /** When the request body was fully received: the proxy's own clock starts here (0n before). */
  ready: bigint;
  /** The first body byte sent (0n before). */
  firstByte: bigint;
  /** Nanoseconds spent waiting on upstream, admission and retry back-off (not proxy overhead). */
  waitNs: bigint;
  /** Milliseconds of the proxy's own work inside upstream callbacks (chunk handling, writes), which
   *  waitNs includes and the overhead metric adds back. */
  callbackMs: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The client's `x-request-id` when it is a sane token, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const rid = req.headers['x-request-id'];
  return typeof rid === 'string' && REQUEST_ID.test(rid) ? rid : randomUUID();
}
const EMPTY = Buffer.alloc(0);

export class Exchange {
  readonly id: string;
  readonly timing: ExchangeTiming;
  /** Aborted when the client disconnects: cancels waits and the upstream attempt. */
  readonly abort = new AbortController();
  /** Request body as it goes upstream. */
  body: Buffer = EMPTY;
  /** The body's backing store has room past its end for an in-place edit (json-splice `spare`);
   *  true for a body read with a declared length, false once an edit used the room. */
  bodyEditRoom = false;
  /** Bytes of this request's body taken from the process-wide body budget (given back at the end). */
  heldBodyBytes = 0;
  /** Parsed request JSON of a POST body up to 1 MiB, else null; read it through requestJson().
   *  A larger body's tree is never kept: it would double the memory the body holds while it
   *  waits, and only a local estimate needs it (parsed again then). */
  json: Record<string, unknown> | null = null;
  /** `model` as it goes upstream (the client's, or what model routing chose), or null. */
  model: string | null = null;
  /** The request's top-level `stream_options` (OpenAI), as sent; undefined when absent. */
  streamOptions: unknown = undefined;
  /** The client's `model` when model routing changed it, else null. */
  requestedModel: string | null = null;
  /** The client asked for a stream. */
  stream = false;
  /** Set when the client disconnected before the response finished. */
  clientGone = false;
  /** The proxy itself broke the client connection (upstream failed mid-stream, shutdown timeout). */
  brokenByProxy = false;
  /** The dispatch controller of the attempt in flight, to abort it at once. */
  controller: Dispatcher.DispatchController | null = null;
  tap: ResponseTap | null = null;
  error: ExchangeError | null = null;
  /** Upstream attempts started (the first one and every retry). */
  attempts = 0;
  /** Why the last attempt failed, when it was a transport or validation failure. */
  failure: ExchangeFailure | null = null;
  #status = 0;
  #bytesOut = 0;
  #committed = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: ResolvedRoute,
    readonly client: ClientIdentity,
  ) {
    this.timing = { arrived: process.hrtime.bigint(), ready: 0n, firstByte: 0n, waitNs: 0n, callbackMs: 0 };
    this.id = requestIdOf(req);
  }

  /** The request JSON: the kept tree, or the body parsed again (null if it is not an object). */
  requestJson(): Record<string, unknown> | null {
    return this.json ?? parseObject(this.body);
  }

  /** Final status sent to the client (0 until headers go out). */
  get status(): number {
    return this.#status;
  }
  get bytesOut(): number {
    return this.#bytesOut;
  }
  /** Headers have been sent; nothing can be retried after this. */
  get committed(): boolean {
    return this.#committed;
  }

  /** Sends the response head: from here on the response is committed. */
  head(status: number, headers: OutgoingHttpHeaders): void {
    this.#status = status;
    this.#committed = true;
    this.res.writeHead(status, headers);
  }

  /** Writes body bytes; false when the socket buffer is full (wait for 'drain'). */
  send(b: Buffer): boolean {
    if (this.timing.firstByte === 0n) this.timing.firstByte = process.hrtime.bigint();
    this.#bytesOut += b.length;
    return this.res.write(b);
  }

  /** Ends the response, with a last (complete) body when given. */
  end(body?: Buffer | string): void {
    if (body === undefined) {
      this.res.end();
      return;
    }
    this.#bytesOut += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    this.res.end(body);
  }
}
