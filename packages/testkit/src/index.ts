/** @zai-proxy/testkit: a simulated Z.AI upstream for tests, benchmarks and the demo. */
export type { CredentialKind, JournalEntry, ReportedUsage } from './journal.ts';
export { MODEL_IDS } from './openai-responses.ts';
export type { PrometheusOptions, PrometheusServer, PromSample, ScrapeJob } from './prometheus.ts';
export { startPrometheus } from './prometheus.ts';
export type { QuotaLimitType, RouteName, ScenarioName, ScenarioSpec, ZaiEnvelope } from './scenarios.ts';
export { parseScenario, SCENARIO_NAMES, ScenarioError, validateScenario } from './scenarios.ts';
export type { Scenario, SimOptions, SimUpstream } from './sim-upstream.ts';
export { startSimUpstream } from './sim-upstream.ts';
export { type Probe, type ProbeInit, probe, received, sha256, sseEvents, until } from './test-client.ts';
export {
  GLM_TOKEN_RATIO,
  GLM_TOKENS_PER_MESSAGE,
  glmInputTokens,
  inputTokens,
  type TokenModel,
} from './token-model.ts';
export type { VirtualClock } from './virtual-clock.ts';
export { createVirtualClock, seededRandom } from './virtual-clock.ts';
export { beijingTime } from './zai-errors.ts';
