// Child process for the benches: one zai-proxy on 127.0.0.1, alone on its event loop.
// Configured from its environment as the real entry point is (TOKEN_COUNTING_ENABLED included);
// prints `listening <url>`, answers `stats` over IPC (see child-control.ts).
import { buildProxy, createLogger, loadConfig } from '@zai-proxy/proxy';
import { serveControl } from './child-control.ts';

const SHUTDOWN_MS = 1000; // 1 s: the bench has nothing in flight when it stops us

const cfg = loadConfig(process.env);
// BENCH_LOG_DEVNULL=1: log lines are serialised and written to /dev/null the way they are to stdout,
// so a bench can measure logging at info without the parent reading them.
const log = createLogger(cfg.LOG_LEVEL, process.env.BENCH_LOG_DEVNULL === '1' ? '/dev/null' : undefined);
const proxy = await buildProxy(cfg, log); // as main.ts builds it
const addr = await proxy.listen(cfg.PORT, cfg.HOST);

let stopping = false;
serveControl({}, () => {
  if (stopping) return;
  stopping = true;
  proxy.shutdown(SHUTDOWN_MS).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

process.stdout.write(`listening http://${addr.address}:${addr.port}\n`);
