// Process entry: parse the arguments, load config (environment over `.env`), start the proxy, say
// where it is, drain on SIGTERM/SIGINT.
import { buildProxy } from './app.ts';
import { startupBanner } from './banner.ts';
import { helpText, parseProxyArgs } from './cli/help.ts';
import { type Config, ConfigError, configWarnings, environment, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { buildInfo, versionLine } from './version.ts';

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`zai-proxy: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

async function main(): Promise<void> {
  const cmd = parseProxyArgs(process.argv.slice(2));
  if (cmd.type === 'help') {
    process.stdout.write(helpText());
    return;
  }
  if (cmd.type === 'error') {
    process.stderr.write(`zai-proxy: ${cmd.message}\n`);
    process.exit(2);
  }
  let env: Record<string, string | undefined>;
  let loaded: Config;
  try {
    env = environment();
    loaded = loadConfig(env);
  } catch (err) {
    fail(err);
  }
  const info = buildInfo(loaded);
  if (cmd.type === 'version') {
    process.stdout.write(`${versionLine(info)}\n`);
    return;
  }
  const cfg: Config = Object.freeze({
    ...loaded,
    ZAI_PROXY_VERSION: info.version,
    ZAI_PROXY_COMMIT: info.commit,
  });
  const log = createLogger(cfg.LOG_LEVEL);
  log.info(
    { version: cfg.ZAI_PROXY_VERSION, commit: cfg.ZAI_PROXY_COMMIT, variant: cfg.DEPLOYMENT_VARIANT },
    `Build info: version=${cfg.ZAI_PROXY_VERSION}, variant=${cfg.DEPLOYMENT_VARIANT}, commit=${cfg.ZAI_PROXY_COMMIT}, build_time=${cfg.ZAI_PROXY_BUILD_TIME}`,
  );
  for (const w of configWarnings(env)) log.warn(w);
  if (cfg.ZAI_API_KEY === undefined && cfg.ZAI_API_KEY_FILE === undefined) {
    log.warn("ZAI_API_KEY is not set: pass-through mode, each client's own key is forwarded to Z.AI");
  }
  let proxy: Awaited<ReturnType<typeof buildProxy>>;
  try {
    proxy = await buildProxy(cfg, log);
  } catch (err) {
    fail(err);
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
  // Kept verbatim for runbooks; the banner lines after it say the rest.
  log.info(
    { version: info.version, commit: info.commit, host: addr.address, port: addr.port },
    `Z.AI proxy listening on :${addr.port}`,
  );
  const counting = proxy.health().token_counting as { mode?: string };
  for (const line of startupBanner(cfg, addr, counting.mode ?? 'unknown')) log.info(line.fields, line.msg);

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
