// Token and usage accounting: SSE usage observation, JSON usage, local token estimates, model labels, cost.
// Other modules import only from this index.

export { type Accounting, createAccounting, noAccounting } from './accounting.ts';
export { addUsage, extractJsonUsage, type JsonUsage, usageOf } from './json-usage.ts';
export { CLAUDE_FAMILIES, foldModel, KNOWN_GLM_MODELS, modelLabels, OTHER_MODEL } from './models.ts';
export { createPlanUsage, DEFAULT_PLAN_TABLE, type PlanEntry, type PlanUsage } from './plan-units.ts';
export {
  createPricing,
  DEFAULT_PRICE_TABLE,
  DEFAULT_PRICING_OPTIONS,
  type PriceEntry,
  type PriceTable,
  type Pricing,
  type PricingOptions,
  type PricingTier,
  parsePriceTable,
} from './pricing.ts';
export {
  estimateInputTokens,
  requestText,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_REQUEST,
  TOKENS_PER_TOOL,
} from './request-text.ts';
export {
  createStreamObserver,
  type StreamObserver,
  type StreamObserverOptions,
  type StreamResult,
} from './stream-observer.ts';
export { DEFERRED_DATA_CHARS } from './stream-text.ts';
export {
  countByBytes,
  createTokenCounter,
  type TokenCounter,
  type TokenCounterOptions,
  WORKER_THRESHOLD_CHARS,
} from './tokenizer.ts';
export { type ApiFamily, DIRECTIONS, type Direction, type Usage } from './types.ts';
