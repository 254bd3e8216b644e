// Process entry: load config, start the dashboard, stop cleanly on SIGTERM/SIGINT.
import { pino } from 'pino';
import { createDashboard, VERSION } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

async function main(): Promise<void> {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`zai-dashboard: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = pino({ level: cfg.LOG_LEVEL, base: { service: 'zai-dashboard' } });
  const source = cfg.PROMETHEUS_URL === undefined ? 'scrape' : 'prometheus';
  log.info(
    {
      version: VERSION,
      source,
      targets: cfg.SCRAPE_TARGETS.map((t) => t.name),
      interval_ms: cfg.SCRAPE_INTERVAL,
      db: cfg.DB_PATH,
      auth: cfg.DASHBOARD_TOKEN !== undefined,
    },
    `zai-dashboard ${VERSION} starting (source: ${source})`,
  );
  const dash = createDashboard(cfg, { log });
  let addr: Awaited<ReturnType<typeof dash.listen>>;
  try {
    addr = await dash.listen();
  } catch (err) {
    log.fatal(
      { code: (err as NodeJS.ErrnoException).code },
      `Cannot listen on ${cfg.LISTEN_ADDR.host}:${cfg.LISTEN_ADDR.port}: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  const shown = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
  log.info({ port: addr.port, host: addr.address }, `Dashboard listening on http://${shown}:${addr.port}/`);

  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'Shutting down: closing event streams');
    dash.close().then(
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
