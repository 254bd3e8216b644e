// Load generators: sequential keep-alive requests at concurrency 1 (latency, time to first byte)
// and autocannon at fixed concurrency (throughput), all timed in this process.
import autocannon from 'autocannon';
import { Client } from 'undici';
import { requestHeaders, type Target, type Workload } from './request-fixtures.ts';
import { p50p99 } from './sample-stats.ts';

const REQUEST_TIMEOUT_MS = 10_000; // 10 s: a bench request that slow is a failure, not a sample

/** What a sequential run measures per request, in µs from just before the request is sent. */
export type Clock = 'last-byte' | 'first-byte';

export interface SeqResult {
  /** µs per successful request, in order. */
  samples: Float64Array;
  errors: number;
}

/** One keep-alive connection per target, reused across rounds, so no round pays a connect. */
export function openClient(t: Target): Client {
  return new Client(t.origin, {
    pipelining: 1,
    keepAliveTimeout: 60_000, // 60 s: longer than any pause between rounds
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
}

/** n requests one after another on `client`; the body is always read to the end. */
export async function sequential(
  client: Client,
  t: Target,
  w: Workload,
  n: number,
  clock: Clock,
): Promise<SeqResult> {
  const samples = new Float64Array(n);
  const path = t.paths[w.api];
  const headers = requestHeaders(t, w);
  let ok = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    let tFirst = 0n;
    let bytes = 0;
    let status = 0;
    try {
      const r = await client.request({ method: 'POST', path, headers, body: w.body });
      status = r.statusCode;
      for await (const chunk of r.body) {
        if (bytes === 0) tFirst = process.hrtime.bigint();
        bytes += (chunk as Buffer).length;
      }
    } catch {
      errors++;
      continue;
    }
    const tEnd = process.hrtime.bigint();
    if (status !== 200 || bytes === 0) {
      errors++;
      continue;
    }
    samples[ok++] = Number((clock === 'first-byte' ? tFirst : tEnd) - t0) / 1e3;
  }
  return { samples: samples.subarray(0, ok), errors };
}

export interface CannonResult {
  /** Successful (2xx) responses per second over the run. */
  rps: number;
  /** Latency of 2xx responses in ms (autocannon's hrtime per response, not its 1 ms histogram). */
  p50: number;
  p99: number;
  ok: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
}

/**
 * autocannon for `durationSec` (or, given `amount`, until that many requests are done) at
 * `connections`, keep-alive, one request in flight per connection.
 */
export async function cannon(
  t: Target,
  w: Workload,
  connections: number,
  durationSec: number,
  amount?: number,
): Promise<CannonResult> {
  const latencies: number[] = [];
  let bad = 0;
  const inst = autocannon({
    url: t.origin + t.paths[w.api],
    method: 'POST',
    headers: requestHeaders(t, w),
    body: w.body,
    connections,
    ...(amount === undefined ? { duration: durationSec } : { amount }),
    timeout: REQUEST_TIMEOUT_MS / 1000,
  });
  inst.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
    else bad++;
  });
  const r = await inst;
  const { p50, p99 } = p50p99(latencies);
  return {
    rps: latencies.length / r.duration,
    p50,
    p99,
    ok: latencies.length,
    errors: bad + r.errors,
  };
}
