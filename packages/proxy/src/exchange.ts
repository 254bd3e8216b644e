// The one state object a proxied request carries through the request path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
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
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: ResolvedRoute;
  readonly id: string;
  /** process.hrtime.bigint() at arrival. */
  readonly t0: bigint;
  /** hrtime when the request body was fully received: the proxy's own clock starts here. */
  tReady: bigint;
  /** Request body as it goes upstream. */
  body: Buffer;
  /** Parsed request JSON (POST routes), else null. */
  json: Record<string, unknown> | null;
  /** `model` as sent by the client, or null. */
  model: string | null;
  /** The client asked for a stream. */
  stream: boolean;
  /** Set when the client disconnected before the response finished. */
  clientGone: boolean;
  /** Aborted when the client disconnects: cancels waits and the upstream attempt. */
  readonly abort: AbortController;
  /** The dispatch controller of the attempt in flight, to abort it at once. */
  controller: Dispatcher.DispatchController | null;
  tap: ResponseTap | null;
  /** Final status sent to the client (0 until headers go out). */
  status: number;
  bytesOut: number;
  /** hrtime of the first body byte sent, 0n before. */
  tFirstByte: bigint;
  /** Nanoseconds spent waiting on upstream, admission and retry back-off (not proxy overhead). */
  waitNs: bigint;
  /** Milliseconds of the proxy's own work inside upstream callbacks (chunk handling, writes), which
   *  waitNs includes and the overhead metric adds back. */
  callbackMs: number;
  /** Headers have been sent; nothing can be retried after this. */
  committed: boolean;
  /** The proxy itself broke the client connection (upstream failed mid-stream, shutdown timeout). */
  brokenByProxy: boolean;
}
