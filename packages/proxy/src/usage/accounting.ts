// Token and cost accounting on the request path: decides per request what to observe (a tap on the
// response), asks Z.AI for stream usage the client did not request, and when the exchange ends records
// tokens, cost and the operator log line. Provider usage first; the cl100k estimate only where none came.
import { readFileSync } from 'node:fs';
import type { StateStore } from '../admission/state-store.ts';
import { type Config, ConfigError } from '../config.ts';
import type { Exchange } from '../exchange.ts';
import { asObject } from '../json.ts';
import { setJsonMember } from '../json-splice.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { fileCalibrationStore, stateCalibrationStore } from './calibration-store.ts';
import { type CountTokensLocal, createCountTokensLocal, type LocalCount } from './count-tokens.ts';
import { foldModel } from './models.ts';
import { createPlanUsage } from './plan-units.ts';
import { createPricing, DEFAULT_PRICE_TABLE, type PriceTable, parsePriceTable } from './pricing.ts';
import { estimateInputTokens } from './request-text.ts';
import { restoreSnapshot } from './token-calibration.ts';
import { createTokenCounter } from './tokenizer.ts';
import { type TapContext, timedCount, type UsageSink, UsageTap } from './usage-tap.ts';

/** Per-request accounting hooks used by the server; a no-op object when counting is off. */
export interface Accounting {
  /** After the request body is parsed, before the first attempt: may splice x.body and set x.tap
   *  (whose settle() records the exchange when it ends). */
  prepare(x: Exchange): void;
  /** The local count_tokens answer (calibrated per model against provider usage once a model has a
   *  ratio) when Z.AI lacks the endpoint; null when counting is off. */
  countTokensLocally(x: Exchange): Promise<LocalCount> | null;
  /** Which upstreams lack count_tokens, and the calibration; null when counting is off. */
  readonly local: CountTokensLocal | null;
  /** The `token_counting` section of /health. */
  health(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Accounting when TOKEN_COUNTING_ENABLED=false: costs nothing per request. */
export const noAccounting: Accounting = {
  prepare: () => {},
  countTokensLocally: () => null,
  local: null,
  health: () => ({ enabled: false, mode: 'disabled' }),
  close: () => Promise.resolve(),
};
/** Loads the tokenizer and price table once and binds the accounting series. */
export async function createAccounting(
  cfg: Config,
  log: Logger,
  metrics: Metrics,
  spend: UsageSink | null = null,
  /** Where the learned token ratios live unless TOKEN_CALIBRATION_STATE_FILE names a file of their own. */
  state: StateStore | null = null,
): Promise<Accounting> {
  if (!cfg.TOKEN_COUNTING_ENABLED) {
    log.info('Token counting disabled (TOKEN_COUNTING_ENABLED=false)');
    metrics.tokenCountingMode.labels('disabled', metrics.variant).set(1);
    return noAccounting;
  }
  const table = loadPriceTable(cfg);
  const pricing = createPricing({
    table,
    peakStart: cfg.PRICING_PEAK_START,
    peakEnd: cfg.PRICING_PEAK_END,
    timeZone: cfg.PRICING_TIMEZONE,
    peakMultiplier: cfg.PRICING_PEAK_MULTIPLIER,
  });
  const counter = await createTokenCounter({ forceFallback: cfg.TOKENIZER_FALLBACK });
  if (counter.mode === 'tiktoken') {
    log.info(`Token counting enabled (tiktoken cl100k_base encoding, model: ${cfg.TOKENIZER_MODEL})`);
  } else {
    log.warn(`Warning: Failed to initialize TikToken counter: ${counter.loadError}`);
    log.warn('Falling back to SimpleTokenCounter');
    log.warn(`Token counting enabled (fallback mode, model: ${cfg.TOKENIZER_MODEL})`);
  }
  metrics.tokenCountingMode.labels(counter.mode, metrics.variant).set(1);
  const v = metrics.variant;
  const src = (source: string) => ({
    anthropic: metrics.usageSource.labels(source, 'anthropic', v),
    openai: metrics.usageSource.labels(source, 'openai', v),
  });
  const base = { metrics, defaultModel: cfg.TOKENIZER_MODEL };
  const statePath = cfg.TOKEN_CALIBRATION_STATE_FILE;
  const store =
    statePath !== undefined
      ? fileCalibrationStore(statePath)
      : state === null
        ? null
        : stateCalibrationStore(state);
  const restored =
    store === null
      ? null
      : restoreSnapshot(await store.load(), Date.now(), cfg.TOKEN_CALIBRATION_STATE_MAX_AGE);
  if (store !== null) {
    const n = restored === null ? 0 : Object.keys(restored.models).length;
    const where = statePath ?? (state!.source === 'redis' ? 'in Redis' : 'in the admission state');
    log.info(`Token calibration state ${where}: restored ${n} model ratio(s)`);
  }
  const local = createCountTokensLocal({
    estimate: (json, bodyBytes) =>
      timedCount(base, () =>
        estimateInputTokens(
          counter,
          'anthropic',
          json,
          bodyBytes === undefined
            ? undefined
            : {
                bodyBytes,
                degraded: (err) =>
                  log.warn(
                    { err: err.message, estimate: 'bytes/4' },
                    'count_tokens estimate degraded to request bytes/4',
                  ),
              },
        ),
      ),
    metrics,
    log,
    now: Date.now,
    sampleIntervalMs: cfg.TOKEN_CALIBRATION_INTERVAL,
    rememberUnsupportedMs: cfg.COUNT_TOKENS_UNSUPPORTED_TTL,
    store,
    restored,
  });
  return createEnabledAccounting({
    counter,
    pricing,
    plan: createPlanUsage(table),
    local,
    metrics,
    log,
    defaultModel: cfg.TOKENIZER_MODEL,
    series: new Map(),
    clients: new Map(),
    sources: { provider: src('provider'), estimate: src('estimate') },
    spend,
  });
}

function loadPriceTable(cfg: Config): PriceTable {
  const [name, text] =
    cfg.PRICING_JSON !== undefined
      ? ['PRICING_JSON', cfg.PRICING_JSON]
      : cfg.PRICING_FILE !== undefined
        ? ['PRICING_FILE', readPricingFile(cfg.PRICING_FILE)]
        : ['', null];
  if (text === null) return DEFAULT_PRICE_TABLE;
  try {
    return parsePriceTable(text);
  } catch (err) {
    throw new ConfigError([name], [`${name}: ${(err as Error).message}`]);
  }
}

function readPricingFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      ['PRICING_FILE'],
      [`PRICING_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`],
    );
  }
}

function createEnabledAccounting(ctx: TapContext & { local: CountTokensLocal }): Accounting {
  return {
    prepare(x) {
      if (x.route.kind !== 'messages' && x.route.kind !== 'chat') return;
      let strip = false;
      if (x.route.family === 'openai' && x.stream) {
        const so = asObject(x.streamOptions);
        if (so?.include_usage !== true) {
          // Z.AI sends stream usage only when asked; ask, and hide the extra chunk from this client.
          // A splice: the rest of the body goes upstream byte for byte.
          x.body = setJsonMember(x.body, ['stream_options', 'include_usage'], 'true', x.bodyEditRoom);
          x.bodyEditRoom = false;
          x.streamOptions = { ...so, include_usage: true };
          if (x.json !== null) x.json.stream_options = x.streamOptions;
          strip = true;
        }
      }
      x.tap = new UsageTap(ctx, x, strip);
    },
    countTokensLocally(x) {
      return ctx.local.answer(foldModel(x.model ?? ctx.defaultModel), x.requestJson(), x.body.length);
    },
    local: ctx.local,
    health: () => ({
      enabled: true,
      mode: ctx.counter.mode,
      encoding: ctx.counter.mode === 'tiktoken' ? 'cl100k_base' : 'utf8_bytes_div_4',
      model: ctx.defaultModel,
      ...ctx.local.health(),
    }),
    close: async () => {
      await ctx.local.close();
      await ctx.counter.close();
    },
  };
}
