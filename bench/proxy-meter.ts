// Measures what a proxy process does during measured runs only: the growth of its own
// zai_proxy_overhead_seconds histogram and its CPU time, both read between runs, never during one.

import { addHistograms, type Buckets, diffHistograms, readHistogram, totalCount } from '@zai-proxy/prom-text';
import type { Child } from './child-processes.ts';
import type { Phase } from './overhead-report.ts';
import type { Target } from './request-fixtures.ts';

const OVERHEAD_METRIC = 'zai_proxy_overhead_seconds';
const SCRAPE_TIMEOUT_MS = 5_000;

/** A target and, when it is a proxy, the child process behind it. */
export interface BenchTarget extends Target {
  proxy: Child | null;
  /** A process without zai-proxy's /metrics (nginx, Portkey): only its CPU time is read. */
  foreign?: true;
}

interface ProxyTotals {
  hist: Map<string, Buckets>;
  cpuUs: number;
}

export interface ProxyMeter {
  /** Runs `run`; if `t` is a proxy, adds what that proxy did meanwhile to the totals. */
  around<T>(t: BenchTarget, run: () => Promise<T>): Promise<T>;
  /** Totals per proxy target: the summed histogram and CPU µs per counted request. */
  result(): Pick<Phase, 'ownOverhead' | 'proxyCpuUsPerReq'>;
}

async function probe(p: Child, foreign: boolean): Promise<ProxyTotals> {
  if (foreign) return { hist: new Map(), cpuUs: (await p.stats()).cpuUs };
  const r = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  const hist = readHistogram(await r.text(), OVERHEAD_METRIC, 'path');
  return { hist, cpuUs: (await p.stats()).cpuUs };
}

export function createProxyMeter(): ProxyMeter {
  const totals = new Map<string, ProxyTotals>();
  return {
    async around(t, run) {
      if (t.proxy === null) return run();
      const before = await probe(t.proxy, t.foreign === true);
      const out = await run();
      const after = await probe(t.proxy, t.foreign === true);
      const prev = totals.get(t.name) ?? { hist: new Map(), cpuUs: 0 };
      totals.set(t.name, {
        hist: addHistograms(prev.hist, diffHistograms(after.hist, before.hist)),
        cpuUs: prev.cpuUs + after.cpuUs - before.cpuUs,
      });
      return out;
    },
    result() {
      const ownOverhead: Phase['ownOverhead'] = {};
      const proxyCpuUsPerReq: Phase['proxyCpuUsPerReq'] = {};
      for (const [name, t] of totals) {
        ownOverhead[name] = t.hist;
        const requests = [...t.hist.values()].reduce((n, h) => n + totalCount(h), 0);
        proxyCpuUsPerReq[name] = requests === 0 ? Number.NaN : t.cpuUs / requests;
      }
      return { ownOverhead, proxyCpuUsPerReq };
    },
  };
}
