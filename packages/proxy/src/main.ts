// Process entry: load config, start the proxy, drain on SIGTERM/SIGINT.
import { buildProxy } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';

async function main(): Promise<void> {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`zai-proxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(cfg.LOG_LEVEL);
  log.info(
    { version: cfg.ZAI_PROXY_VERSION, commit: cfg.ZAI_PROXY_COMMIT, variant: cfg.DEPLOYMENT_VARIANT },
    `Build info: version=${cfg.ZAI_PROXY_VERSION}, variant=${cfg.DEPLOYMENT_VARIANT}, commit=${cfg.ZAI_PROXY_COMMIT}, build_time=${cfg.ZAI_PROXY_BUILD_TIME}`,
  );
  if (cfg.ZAI_API_KEY === undefined && cfg.ZAI_API_KEY_FILE === undefined) {
    log.warn("ZAI_API_KEY is not set: pass-through mode, each client's own key is forwarded to Z.AI");
  }
  let proxy: Awaited<ReturnType<typeof buildProxy>>;
  try {
    proxy = await buildProxy(cfg, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`zai-proxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let addr: Awaited<ReturnType<typeof proxy.listen>>;
  try {
    addr = await proxy.listen(cfg.PORT, cfg.HOST);
  } catch (err) {
    log.fatal(
      { code: (err as NodeJS.ErrnoException).code },
      `Cannot listen on ${cfg.HOST}:${cfg.PORT}: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  log.info({ port: addr.port, host: addr.address }, `Z.AI proxy listening on :${addr.port}`);
  log.info(`Metrics available at :${addr.port}/metrics`);

  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) {
      // A second signal: stop waiting for load balancers, close the listener now.
      proxy.http.endDelay();
      return;
    }
    stopping = true;
    log.info(
      { signal: sig, delayMs: cfg.SHUTDOWN_DELAY, timeoutMs: cfg.SHUTDOWN_TIMEOUT },
      'Shutting down: draining in-flight requests',
    );
    proxy.shutdown(cfg.SHUTDOWN_TIMEOUT, cfg.SHUTDOWN_DELAY).then(
      () => {
        log.info('Shutdown complete');
        process.exit(0);
      },
      (err) => {
        log.error({ err: (err as Error).message }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
