// Test stack: the simulated Z.AI upstream and a proxy in front of it, on 127.0.0.1 random ports,
// built by the composition root as main.ts builds it.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimOptions, type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import type { Admission } from '../src/admission/index.ts';
import { buildProxy, type ZaiProxy } from '../src/app.ts';
import type { Clock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import type { Metrics } from '../src/metrics.ts';
import type { SignalListener } from '../src/upstream/signals.ts';
import type { Schedule } from '../src/upstream/zai-key.ts';
import type { Accounting } from '../src/usage/index.ts';

export const ZAI_KEY = 'zai-secret-KEY-0123456789abcdef';
let stacks = 0;

export interface Stack {
  sim: SimUpstream;
  proxy: ZaiProxy;
  url: string;
  /** Every log line the proxy wrote, as text. */
  logs: string[];
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  clock?: Clock;
  accounting?: (m: Metrics) => Accounting;
  simApiKey?: string | null;
  /** Further options of the simulated upstream (e.g. its token model). */
  sim?: Omit<SimOptions, 'apiKey'>;
  signals?: SignalListener;
  admission?: Admission;
  /** Variables that need the simulated upstream's URL (applied after `env`). */
  simEnv?: (simUrl: string) => Record<string, string>;
  /** Replaces the ZAI_API_KEY_FILE re-read timer (tests call the captured function). */
  keySchedule?: Schedule;
}

/** A clock that never sleeps: records each requested wait and resolves at once (or rejects if aborted). */
export function fakeClock(start = Date.now()): Clock & { waits: number[]; advance(ms: number): void } {
  const waits: number[] = [];
  let now = start;
  return {
    waits,
    now: () => now,
    random: () => 0,
    sleep(ms, signal) {
      waits.push(ms);
      if (signal.aborted) return Promise.reject(new Error('aborted'));
      now += ms;
      return Promise.resolve();
    },
    /** Moves wall time on (a quota reset, a probe interval) without a wait. */
    advance(ms) {
      now += ms;
    },
  };
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const sim = await startSimUpstream({
    ...o.sim,
    ...(o.simApiKey === null ? {} : { apiKey: o.simApiKey ?? ZAI_KEY }),
  });
  try {
    return await startProxy(sim, o);
  } catch (err) {
    await sim.close();
    throw err;
  }
}

/** A proxy in front of an existing sim (two replicas of one account share one sim). */
export async function startProxy(sim: SimUpstream, o: StackOptions): Promise<Stack> {
  const cfg = loadConfig({
    ZAI_API_KEY: ZAI_KEY,
    ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
    ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
    ZAI_QUOTA_BASE_URL: sim.url, // polled only with QUOTA_POLL_ENABLED
    LOG_LEVEL: 'debug',
    // Each stack learns alone: no state file shared between tests (or with a proxy on this machine).
    RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-test-state-${process.pid}-${++stacks}.json`),
    ...o.env,
    ...o.simEnv?.(sim.url),
  });
  const logs: string[] = [];
  const log = createLogger(cfg.LOG_LEVEL, { write: (s: string) => void logs.push(s) });
  const proxy = await buildProxy(cfg, log, {
    clock: o.clock ?? fakeClock(),
    accounting: o.accounting,
    signalListeners: o.signals === undefined ? [] : [o.signals],
    admission: o.admission,
    keySchedule: o.keySchedule,
  });
  const addr = await proxy.listen(0, '127.0.0.1');
  return {
    sim,
    proxy,
    url: `http://127.0.0.1:${addr.port}`,
    logs,
    metricsText: () => proxy.metrics.registry.metrics(),
    async close() {
      await proxy.shutdown(0);
      await sim.close();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
export type AnyJson = any;
/** A response body as loosely-typed JSON. */
export const json = (r: Response): Promise<AnyJson> => r.json();
