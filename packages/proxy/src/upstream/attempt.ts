// One upstream attempt as an undici dispatch handler. It decides from the response status and
// content type whether to stream through, buffer (to validate and add usage), or collect an error
// body for classification, and reports back what happened. Nothing is sent to the client before
// the attempt is known to be good, so a failed attempt can still be retried.
import type { Dispatcher } from 'undici';
import type { Exchange } from '../exchange.ts';
import { NOT_JSON, parseJson } from '../json.ts';
import type { FailureKind } from './failures.ts';
import { downstreamHeaders } from './headers.ts';

/** Error bodies kept: enough to classify (32 KiB) and to replay ordinary error JSON. */
export const ERROR_BODY_LIMIT = 1024 * 1024; // 1 MiB

export type AttemptOutcome =
  | { type: 'committed' }
  | {
      type: 'failure';
      kind: FailureKind;
      status: number;
      headers: Record<string, string | string[] | undefined>;
      body: Buffer;
      error: Error | null;
    };

enum Mode {
  Waiting,
  Error,
  StreamPeek,
  Stream,
  Buffer,
  Pass,
  Done,
}

const EMPTY = Buffer.alloc(0);

/** The undici handler for one attempt; resolves `done` exactly once. */
export class Attempt implements Dispatcher.DispatchHandler {
  private mode = Mode.Waiting;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private controller: Dispatcher.DispatchController | null = null;
  readonly tStart = process.hrtime.bigint();

  constructor(
    private readonly x: Exchange,
    private readonly maxBuffer: number,
    private readonly done: (o: AttemptOutcome) => void,
    private readonly onUpstreamError: (type: string) => void,
    private readonly onBrokenStream: (err: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.x.controller = controller;
    if (this.x.clientGone) controller.abort(new Error('client disconnected'));
  }

  // The three response callbacks time the proxy's own work on the response (header handling, chunk
  // observation, writes), which the overhead metric counts although it happens inside the attempt.
  onResponseStart(
    _c: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const t = performance.now();
    this.started(status, headers);
    this.x.timing.callbackMs += performance.now() - t;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    const t = performance.now();
    this.data(chunk);
    this.x.timing.callbackMs += performance.now() - t;
  }

  onResponseEnd(): void {
    const t = performance.now();
    this.ended();
    this.x.timing.callbackMs += performance.now() - t;
  }

  private started(status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // 1xx informational: the real response follows
    this.status = status;
    this.headers = headers;
    if (status >= 400) {
      this.mode = Mode.Error;
      return;
    }
    const ct = headers['content-type'];
    const sse = typeof ct === 'string' && ct.includes('text/event-stream');
    const enc = headers['content-encoding'];
    if (enc !== undefined && enc !== 'identity') {
      // Compressed despite accept-encoding: identity: unreadable here, so forwarded untouched and unobserved.
      this.commit(false);
      this.mode = Mode.Pass;
    } else if (status < 300 && sse) this.mode = Mode.StreamPeek;
    else if (status < 300 && this.x.route.validateJson) this.mode = Mode.Buffer;
    else {
      this.commit(false);
      this.mode = Mode.Pass;
    }
  }

  private data(chunk: Buffer): void {
    switch (this.mode) {
      case Mode.StreamPeek:
        if (chunk.length === 0) return;
        this.commit(true);
        this.mode = Mode.Stream;
        this.send(this.x.tap === null ? chunk : this.x.tap.chunk(chunk));
        return;
      case Mode.Stream:
        this.send(this.x.tap === null ? chunk : this.x.tap.chunk(chunk));
        return;
      case Mode.Pass:
        this.send(chunk);
        return;
      case Mode.Buffer:
        this.chunks.push(chunk);
        this.size += chunk.length;
        if (this.size > this.maxBuffer) {
          // Too large to hold: give up validation and usage addition, stream the rest through.
          this.commit(false);
          this.mode = Mode.Pass;
          for (const c of this.chunks) this.send(c);
          this.chunks = [];
        }
        return;
      case Mode.Error:
        if (this.size < ERROR_BODY_LIMIT) {
          const room = ERROR_BODY_LIMIT - this.size;
          this.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        }
        this.size += chunk.length;
        return;
      default:
        return;
    }
  }

  private ended(): void {
    const x = this.x;
    switch (this.mode) {
      case Mode.StreamPeek:
        this.fail('empty_streaming', null);
        return;
      case Mode.Stream: {
        const rest = x.tap === null ? null : x.tap.end();
        if (rest !== null && rest.length > 0) this.send(rest);
        this.finish();
        return;
      }
      case Mode.Pass:
        this.finish();
        return;
      case Mode.Buffer: {
        const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
        this.chunks = [];
        const parsed = parseJson(body);
        if (parsed === NOT_JSON) {
          this.fail('truncated_response', null, body);
          return;
        }
        const out = x.tap === null ? body : x.tap.body(body, parsed);
        if (Buffer.isBuffer(out)) this.deliver(out);
        else
          out.then(
            (b) => this.deliver(b),
            () => this.deliver(body),
          );
        return;
      }
      case Mode.Error: {
        const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        this.chunks = [];
        this.fail('status', null, body);
        return;
      }
      default:
        this.finish();
    }
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    const x = this.x;
    if (x.committed) {
      // Headers and maybe bytes are out: the only honest signal left is a broken connection,
      // never a clean end (an OpenAI client takes a clean end without [DONE] as a full answer).
      if (!x.clientGone) {
        this.onUpstreamError('read_error');
        this.onBrokenStream(err);
        x.brokenByProxy = true;
      }
      x.res.destroy(err);
      this.settle({ type: 'committed' });
      return;
    }
    if (x.clientGone) {
      this.settle({ type: 'committed' });
      return;
    }
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      this.fail('timeout', err); // Z.AI may still be generating (and billing): never retried
      return;
    }
    switch (this.mode) {
      case Mode.Buffer:
        // A 2xx body cut off: Z.AI answered, so this is a truncated response, not a connection failure.
        this.fail('truncated_response', err);
        return;
      case Mode.StreamPeek:
        this.fail('empty_streaming', err);
        return;
      case Mode.Error:
        this.fail('status', err, Buffer.concat(this.chunks));
        return;
      default:
        this.fail('network', err);
    }
  }

  /** Pause the upstream body while the client socket drains. */
  resumeIfPaused(): void {
    if (this.controller?.paused) this.controller.resume();
  }

  private commit(stream: boolean, contentLength = -1): void {
    const x = this.x;
    const h = downstreamHeaders(this.headers, x.id);
    if (stream) {
      // Tell nginx-style intermediaries not to buffer the event stream.
      h['x-accel-buffering'] = 'no';
      if (h['cache-control'] === undefined) h['cache-control'] = 'no-cache';
    }
    if (contentLength >= 0) h['content-length'] = contentLength;
    if (x.tap !== null) {
      const t = x.tap.inputTokens();
      if (t !== null) {
        h['x-token-input'] = String(t.n);
        if (t.estimate) h['x-token-source'] = 'estimate';
      }
    }
    x.head(this.status, h);
  }

  private send(b: Buffer | null): void {
    if (b === null || b.length === 0) return;
    if (!this.x.send(b)) this.controller?.pause();
  }

  /** Sends a complete validated body (unless the client left while usage was being counted). */
  private deliver(body: Buffer): void {
    if (this.x.clientGone) {
      this.settle({ type: 'committed' });
      return;
    }
    this.commit(false, body.length);
    this.send(body);
    this.finish();
  }

  private finish(): void {
    this.x.end();
    this.settle({ type: 'committed' });
  }

  private fail(kind: FailureKind, error: Error | null, body: Buffer = EMPTY): void {
    this.settle({ type: 'failure', kind, status: this.status, headers: this.headers, body, error });
  }

  private settle(o: AttemptOutcome): void {
    if (this.mode === Mode.Done) return;
    this.mode = Mode.Done;
    this.x.timing.waitNs += process.hrtime.bigint() - this.tStart;
    if (this.x.controller === this.controller) this.x.controller = null;
    this.done(o);
  }
}
