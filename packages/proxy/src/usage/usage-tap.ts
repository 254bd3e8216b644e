// The response tap of one accounted exchange: provider usage from the stream or body, or what is
// needed to estimate it; when the exchange ends, tokens and cost are recorded with the operator log line.
import { clientBucket } from '../admission/client-buckets.ts';
import type { Exchange, ResponseTap } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { CountTokensLocal } from './count-tokens.ts';
import { addUsage, usageOf } from './json-usage.ts';
import { foldModel } from './models.ts';
import type { PlanUsage } from './plan-units.ts';
import type { Pricing } from './pricing.ts';
import { estimateInputTokens } from './request-text.ts';
import { createStreamObserver, type StreamObserver, type StreamResult } from './stream-observer.ts';
import type { TokenCounter } from './tokenizer.ts';
import { type ApiFamily, DIRECTIONS, type Usage } from './types.ts';

/** What every tap of one proxy shares: the counter, prices, plan units, the count_tokens
 *  calibration and the bound series. */
export interface TapContext {
  counter: TokenCounter;
  pricing: Pricing;
  plan: PlanUsage;
  /** Learns from provider usage; null only where a tap is built without calibration (tests). */
  local: CountTokensLocal | null;
  metrics: Metrics;
  log: Logger;
  defaultModel: string;
  series: Map<string, BoundSeries>;
  /** Per-client tokens (DIRECTIONS order) and cost, by client label. */
  clients: Map<string, { tokens: Counter[]; cost: Counter }>;
  sources: Record<'provider' | 'estimate', Record<ApiFamily, Counter>>;
}

const hasAny = (u: Usage | null): u is Usage =>
  u !== null && (u.input > 0 || u.output > 0 || u.cache_read > 0 || u.cache_write > 0);

/** Observes one response: provider usage from the stream or body, or what is needed to estimate it. */
export class UsageTap implements ResponseTap {
  private observer: StreamObserver | null = null;
  private usage: Usage | null = null;
  /** A finished stream's text, for an output estimate only if Z.AI reported no usage. */
  private streamText: StreamResult['outputText'] | null = null;
  /** Output tokens counted from a non-streaming body that had no usage. */
  private bodyOutput: number | null = null;
  private estimatedInput: number | null = null;
  private knownInput: number | null = null;
  private saw2xx = false;

  constructor(
    private readonly ctx: TapContext,
    private readonly x: Exchange,
    private readonly strip: boolean,
  ) {}

  chunk(b: Buffer): Buffer | null {
    if (this.observer === null) {
      this.saw2xx = true;
      this.observer = createStreamObserver(this.x.route.family, { stripUsageChunk: this.strip });
    }
    return this.observer.push(b);
  }

  end(): Buffer | null {
    if (this.observer === null) return null;
    const f = this.observer.finish();
    this.observer = null;
    this.usage = f.usage;
    this.streamText = f.outputText;
    return f.flush;
  }

  body(b: Buffer, parsed: unknown): Buffer | Promise<Buffer> {
    this.saw2xx = true;
    const api = this.x.route.family;
    const j = usageOf(api, parsed);
    if (hasAny(j.usage)) {
      this.usage = j.usage;
      this.knownInput = j.usage.input + j.usage.cache_read + j.usage.cache_write;
      return b;
    }
    if (!j.isObject) return b;
    // No usable usage from Z.AI: estimate both directions (off the main thread when large) and add a
    // usage member unless the body already has one (a duplicate key would be ambiguous).
    const estimated = this.estimateBody(j.outputText ?? '');
    return j.hasUsageKey ? estimated.then(() => b) : estimated.then((u) => addUsage(api, b, u, parsed));
  }

  inputTokens(): { n: number; estimate: boolean } | null {
    return this.knownInput === null ? null : { n: this.knownInput, estimate: !hasAny(this.usage) };
  }

  /** Records what this exchange consumed; called once when it ends. */
  settle(): void {
    if (!this.saw2xx) return;
    if (this.observer !== null) this.end(); // the client left mid-stream: count what went by
    if (hasAny(this.usage)) {
      record(this.ctx, this.x, this.usage, 'provider');
      this.offerCalibrationSample(this.usage);
      return;
    }
    this.estimateRest().then(
      (u) => record(this.ctx, this.x, u, 'estimate'),
      (err) =>
        this.ctx.log.warn({ requestId: this.x.id, err: (err as Error).message }, 'Token estimate failed'),
    );
  }

  /** Anthropic Messages with provider usage: a calibration sample for local count_tokens answers
   *  (only that API's count_tokens is answered locally, so only its estimate is calibrated). */
  private offerCalibrationSample(u: Usage): void {
    const x = this.x;
    if (this.ctx.local === null || x.route.family !== 'anthropic' || x.route.kind !== 'messages') return;
    if (x.json === null) return;
    const model = foldModel(x.model ?? this.ctx.defaultModel);
    this.ctx.local.learn(model, x.json, u.input + u.cache_read + u.cache_write);
  }

  private async estimateBody(outputText: string): Promise<Usage> {
    const [input, output] = await Promise.all([this.estimateInput(), this.countOutput(outputText, 1)]);
    this.bodyOutput = output;
    this.knownInput = input;
    return { input, output, cache_read: 0, cache_write: 0 };
  }

  /** The estimate for a stream, or for a body already estimated when its usage was added. */
  private async estimateRest(): Promise<Usage> {
    const input = this.estimatedInput ?? (await this.estimateInput());
    let output = this.bodyOutput ?? 0;
    if (this.streamText !== null) {
      const { text, scale } = this.streamText();
      output = await this.countOutput(text, scale);
    }
    return { input, output, cache_read: 0, cache_write: 0 };
  }

  private countOutput(text: string, scale: number): Promise<number> {
    return timedCount(this.ctx, () => this.ctx.counter.countAsync(text), 'output', this.x).then((n) =>
      Math.round(n * scale),
    );
  }

  private async estimateInput(): Promise<number> {
    const n = await timedCount(
      this.ctx,
      () => estimateInputTokens(this.ctx.counter, this.x.route.family, this.x.json),
      'input',
      this.x,
    );
    this.estimatedInput = n;
    return n;
  }
}

/** Runs a local count and observes its duration (and the token-rate histograms when a direction is given). */
export async function timedCount(
  ctx: Pick<TapContext, 'metrics' | 'defaultModel'>,
  count: () => Promise<number>,
  direction?: 'input' | 'output',
  x?: Exchange,
): Promise<number> {
  const t = process.hrtime.bigint();
  const n = await count();
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const m = ctx.metrics;
  m.tokenCountDuration.labels(m.variant).observe(s);
  if (direction !== undefined && x !== undefined && n > 0 && s > 0) {
    const model = foldModel(x.model ?? ctx.defaultModel);
    m.tokenRateSeconds.labels(direction, model, m.variant).observe(s);
    m.tokenRate.labels(direction, model, m.variant).observe(n / s);
  }
  return n;
}

/** Token and cost counters bound to one (model, tier, source), one pair per direction in DIRECTIONS
 *  order, and the plan-units counter of the same labels. */
type BoundSeries = { dirs: { tokens: Counter; cost: Counter }[]; plan: Counter };
interface Counter {
  inc(n?: number): void;
}

/** The bound children for a label set, created on first use: prom-client hashes labels on every
 *  labels() call, which was the largest cost of recording usage: bind children once. */
function seriesFor(ctx: TapContext, model: string, tier: string, source: string): BoundSeries {
  const key = `${model}\u0000${tier}\u0000${source}`;
  let s = ctx.series.get(key);
  if (s === undefined) {
    const m = ctx.metrics;
    s = {
      dirs: DIRECTIONS.map((d) => ({
        tokens: m.tokensTotal.labels(d, model, m.variant, tier, source),
        cost: m.costTotal.labels(d, model, m.variant, tier, source),
      })),
      plan: m.planUnits.labels(model, m.variant, tier, source),
    };
    ctx.series.set(key, s); // bounded: folded models × 2 tiers × 2 sources
  }
  return s;
}

// Bounded: configured client names, or the 64 source buckets.
function clientSeriesFor(ctx: TapContext, client: string): { tokens: Counter[]; cost: Counter } {
  let c = ctx.clients.get(client);
  if (c === undefined) {
    const m = ctx.metrics;
    c = {
      tokens: DIRECTIONS.map((d) => m.clientTokens.labels(client, d, m.variant)),
      cost: m.clientCost.labels(client, m.variant),
    };
    ctx.clients.set(client, c);
  }
  return c;
}

function record(ctx: TapContext, x: Exchange, u: Usage, source: 'provider' | 'estimate'): void {
  const model = foldModel(x.model ?? ctx.defaultModel);
  const tier = ctx.pricing.tier(Date.now());
  const series = seriesFor(ctx, model, tier, source);
  const client = clientBucket(x.client);
  const perClient = clientSeriesFor(ctx, client);
  for (let i = 0; i < DIRECTIONS.length; i++) {
    const d = DIRECTIONS[i]!;
    const n = u[d];
    if (n <= 0) continue;
    const cost = ctx.pricing.cost(model, d, n, tier);
    series.dirs[i]!.tokens.inc(n);
    series.dirs[i]!.cost.inc(cost);
    perClient.tokens[i]!.inc(n);
    perClient.cost.inc(cost);
  }
  series.plan.inc(ctx.plan.units(model, u, tier));
  ctx.sources[source][x.route.family].inc();
  if (!ctx.log.isLevelEnabled('info')) return;
  ctx.log.info(
    {
      requestId: x.id,
      client,
      model,
      source,
      input: u.input,
      output: u.output,
      cache_read: u.cache_read,
      cache_write: u.cache_write,
    },
    `Token usage${source === 'estimate' ? ' (estimated)' : ''}: input=${u.input}, output=${u.output}, cache_read=${u.cache_read}, cache_write=${u.cache_write}`,
  );
}
