/** Test helpers: a raw node:http client that keeps every read and survives resets, digests, polling
 *  and SSE splitting. Exported for every package's tests. */
import { createHash } from 'node:crypto';
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Probe {
  /** The request, so a test can destroy it (a client going away). */
  req: ClientRequest;
  status: number;
  headers: IncomingHttpHeaders;
  /** Each 'data' read, in order. */
  reads: Buffer[];
  /** Set if the connection failed (reset, destroyed). */
  error: Error | null;
  /** Resolves when the response ended or the connection failed. */
  done: Promise<void>;
}

export interface ProbeInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Starts a request without keep-alive (a reset must not leak into the next test). */
export function probe(baseUrl: string, path: string, init: ProbeInit = {}): Probe {
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  const p: Partial<Probe> & { reads: Buffer[]; error: Error | null } = { reads: [], error: null, status: 0 };
  const req = httpRequest(`${baseUrl}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    agent: false,
  });
  p.req = req;
  p.done = new Promise<void>((resolve) => {
    req.on('error', (err) => {
      p.error = err;
      resolve();
    });
    req.on('response', (res) => {
      p.status = res.statusCode ?? 0;
      p.headers = res.headers;
      res.on('data', (c: Buffer) => p.reads.push(c));
      res.on('end', resolve);
      res.on('error', (err) => {
        p.error = err;
        resolve();
      });
      res.on('close', resolve);
    });
  });
  req.end(body);
  return p as Probe;
}

/** Everything read so far. */
export function received(p: Probe): Buffer {
  return Buffer.concat(p.reads);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Polls cond (which may be async) every 5 ms; throws after timeoutMs. For state another process or
 *  socket changes; a test's own state is awaited directly. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`until: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Parses an SSE text into events: `event` name (if any) and raw `data`. */
export function sseEvents(text: string): Array<{ event: string | null; data: string }> {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | null = null;
      let data = '';
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      return { event, data };
    });
}
