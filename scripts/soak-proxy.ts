// The soak's proxy child: zai-proxy built as main.ts builds it, configured from its environment,
// logging to stdout (the soak keeps it for the secrets scan), plus what the soak samples over IPC:
// RSS, heap, event-loop delay since the previous sample, open file descriptors, requests in flight.
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildProxy, createLogger, loadConfig } from '@zai-proxy/proxy';

const cfg = loadConfig(process.env);
const log = createLogger(cfg.LOG_LEVEL);
const proxy = await buildProxy(cfg, log);
const addr = await proxy.listen(cfg.PORT, cfg.HOST);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

export interface SoakSample {
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay since the previous sample, ms. */
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
  fds: number;
}

process.on('message', (msg: { type: string; id: number }) => {
  if (msg.type === 'sample') {
    const m = process.memoryUsage();
    const s: SoakSample = {
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      loopP50Ms: delay.percentile(50) / 1e6,
      loopP99Ms: delay.percentile(99) / 1e6,
      loopMaxMs: delay.max / 1e6,
      fds: readdirSync('/proc/self/fd').length,
    };
    delay.reset();
    process.send?.({ id: msg.id, sample: s });
  } else if (msg.type === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ id: msg.id });
  }
});
const stop = () => {
  proxy.shutdown(1000).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
process.stderr.write(`listening http://${addr.address}:${addr.port}\n`);
