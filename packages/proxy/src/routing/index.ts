// Model routing: MODEL_MAP (the models clients ask for → the GLM models served) and the quota/peak
// step-down, applied to a request's `model` by a byte splice. Other modules import only from here.
export {
  createModelRouting,
  headerModel,
  type ModelRouting,
  type ModelRoutingDeps,
  ROUTING_OFF,
} from './model-router.ts';
export {
  compileGlob,
  firstMatch,
  globCovers,
  type ModelRule,
  type Parsed,
  parseModelMap,
  parseStepDown,
  ruleWarnings,
  type StepDownCondition,
  type StepDownRule,
} from './model-rules.ts';
export {
  type Conditions,
  conditionHolds,
  decideStepDown,
  isConversationStart,
  type StepDownInput,
  type StepDownVerdict,
  usedFraction,
} from './step-down.ts';
