// The one state object a proxied request carries through the request path. The response side
// (status, committed, bytes out, first byte) is written only through head/send/end, which every
// response path calls: forwarded answers, passed-through errors, proxy errors, local answers.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ClientIdentity } from './http/auth.ts';
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
  /** Once, when the exchange ends (response finished or client gone): record what it consumed. */
  settle(): void;
}

/** Why the request failed, as the one error writer (or the upstream pass-through) recorded it:
 *  a proxy error's catalogue code and class, or a Z.AI error's business code and class. */
export interface ExchangeError {
  readonly code: string | null;
  readonly class: string;
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
const EMPTY = Buffer.alloc(0);

export class Exchange {
  readonly id: string;
  readonly timing: ExchangeTiming;
  /** Aborted when the client disconnects: cancels waits and the upstream attempt. */
  readonly abort = new AbortController();
  /** Request body as it goes upstream. */
  body: Buffer = EMPTY;
  /** Parsed request JSON (POST routes), else null. */
  json: Record<string, unknown> | null = null;
  /** `model` as sent by the client, or null. */
  model: string | null = null;
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
    const rid = req.headers['x-request-id'];
    this.id = typeof rid === 'string' && REQUEST_ID.test(rid) ? rid : randomUUID();
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
