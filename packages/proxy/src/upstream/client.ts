// The upstream HTTP client: one keep-alive undici Agent shared by every request, with the
// connect timeout set once; per-request header and idle timeouts are passed at dispatch.
import { Agent, type Dispatcher } from 'undici';

export interface UpstreamClient {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void;
  close(): Promise<void>;
}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
}

/** Creates the shared upstream connection pool. */
export function createUpstreamClient(opts: UpstreamClientOptions): UpstreamClient {
  const agent = new Agent({
    connect: { timeout: opts.connectTimeoutMs },
    keepAliveTimeout: 30_000, // 30 s idle sockets kept for the next request
    keepAliveMaxTimeout: 600_000, // 10 min
    pipelining: 1,
  });
  return {
    dispatch(o, h) {
      agent.dispatch(o, h);
    },
    close: () => agent.close(),
  };
}
