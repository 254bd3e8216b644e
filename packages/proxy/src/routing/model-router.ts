// Model routing on the request path: MODEL_MAP, then the quota/peak step-down, each applied once, to
// the `model` a request names. The body changes only by a byte splice of that member; the response
// says what happened in X-Zai-Model-Routed; the exchange then carries the served model (accounting,
// admission, logs) and the requested one (the `requested_model` label).
import { createHash } from 'node:crypto';
import type { Exchange } from '../exchange.ts';
import { setJsonMember } from '../json-splice.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { PollState } from '../quota/index.ts';
import { foldModel, KNOWN_GLM_MODELS } from '../usage/index.ts';
import { firstMatch, type ModelRule, ruleWarnings, type StepDownRule } from './model-rules.ts';
import {
  type Conditions,
  conditionHolds,
  decideStepDown,
  isConversationStart,
  usedFraction,
} from './step-down.ts';

export interface ModelRoutingDeps {
  map: readonly ModelRule[];
  stepDown: readonly StepDownRule[];
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** The quota poller's state; null when polling is off. */
  quota: () => PollState | null;
  staleAfterMs: number;
  /** The pricing peak window. */
  isPeak: (nowMs: number) => boolean;
}

export interface ModelRouting {
  /** Routes one exchange: after its body is parsed, before accounting and the first attempt. */
  route(x: Exchange): void;
  /** The `routing` section of /health. */
  health(): Record<string, unknown>;
}

/** The `routing` section when no rule is configured. */
export const ROUTING_OFF: Readonly<Record<string, unknown>> = Object.freeze({ enabled: false });

const SESSION_HEADER = 'x-claude-code-session-id';
const MAX_SESSION_ID = 128;
/** Stepped-down conversations remembered at once; the least recently used is forgotten first. */
export const MAX_STICKY_CONVERSATIONS = 10_000;
/** A stepped-down conversation unused this long is forgotten (24 h). */
export const STICKY_IDLE_MS = 24 * 3_600_000;
const HEADER = 'x-zai-model-routed';
const MAX_HEADER_MODEL = 100;

type Reason = 'map' | 'step_down';

/** The routing of one proxy; null when neither MODEL_MAP nor MODEL_STEP_DOWN has a rule, so that
 *  requests then pay nothing for it. */
export function createModelRouting(d: ModelRoutingDeps): ModelRouting | null {
  const { map, stepDown, metrics: m, log } = d;
  if (map.length === 0 && stepDown.length === 0) return null;
  for (const w of ruleWarnings(map, stepDown, KNOWN_GLM_MODELS)) log.warn(w);
  if (stepDown.some((r) => r.when.kind === 'quota') && d.quota() === null)
    log.warn(
      'MODEL_STEP_DOWN has quota conditions but quota polling is off (it needs QUOTA_POLL_ENABLED and ZAI_API_KEY): they never apply',
    );
  log.info(
    `Model routing: MODEL_MAP ${map.length} rule(s)${map.length > 0 ? ` (${map.map((r) => r.text).join(', ')})` : ''}; MODEL_STEP_DOWN ${stepDown.length} rule(s)${stepDown.length > 0 ? ` (${stepDown.map((r) => r.text).join(', ')})` : ''}`,
  );

  // Children bound once per (requested, served, reason): bounded by the folded model labels.
  const routed = new Map<string, { inc(): void }>();
  const count = (requested: string, served: string, reason: Reason) => {
    const a = foldModel(requested);
    const b = foldModel(served);
    const key = `${a}\u0000${b}\u0000${reason}`;
    let c = routed.get(key);
    if (c === undefined) {
      c = m.modelRouted.labels(a, b, reason, m.variant);
      routed.set(key, c);
    }
    c.inc();
  };

  // The rule a conversation's start stepped down with, by session, model and first message; least
  // recently used first, so (with one idle time for all) also soonest to expire first.
  const sessions = new Map<string, { rule: StepDownRule; until: number }>();
  const remember = (key: string, rule: StepDownRule, nowMs: number) => {
    sessions.set(key, { rule, until: nowMs + STICKY_IDLE_MS });
    for (const [k, s] of sessions) {
      if (s.until > nowMs && sessions.size <= MAX_STICKY_CONVERSATIONS) break;
      sessions.delete(k);
    }
  };
  const active = stepDown.map(() => false);

  const conditions = (nowMs: number): Conditions => ({
    nowMs,
    quota: d.quota(),
    staleAfterMs: d.staleAfterMs,
    peak: d.isPeak(nowMs),
  });

  /** Logs a step-down rule turning on or off (seen by a request or /health). */
  function observe(at: Conditions): boolean[] {
    for (let i = 0; i < stepDown.length; i++) {
      const r = stepDown[i]!;
      const on = conditionHolds(r.when, at);
      if (on === active[i]) continue;
      active[i] = on;
      log.warn(
        { rule: r.text },
        on
          ? `Model step-down on: new conversations on ${r.pattern} get ${r.target} (${describe(r, at)})`
          : `Model step-down off: new conversations on ${r.pattern} get their model again (${describe(r, at)})`,
      );
    }
    return active;
  }

  function stepDownFor(x: Exchange, model: string): StepDownRule | null {
    const candidates = stepDown.filter((r) => r.match.test(model));
    if (candidates.length === 0) return null;
    const nowMs = d.now();
    const at = conditions(nowMs);
    observe(at);
    // A body over 1 MiB has no kept tree (Exchange.json): it is parsed again here, once, and only
    // when a step-down rule could apply, so that a long conversation keeps its record.
    const json = x.requestJson();
    const session = sessionOf(x);
    const key =
      session === null ? null : `${session}\u0000${model.toLowerCase()}\u0000${firstMessageOf(json)}`;
    const start = isConversationStart(json);
    let earlier: StepDownRule | null | undefined;
    if (key !== null && !start) {
      const s = sessions.get(key);
      if (s !== undefined && s.until > nowMs) {
        earlier = s.rule;
        sessions.delete(key); // re-inserted below: most recently used last
      } else if (s !== undefined) sessions.delete(key);
    }
    const v = decideStepDown({ ...at, candidates, start, earlier });
    if (key !== null) {
      if (v.rule === null) sessions.delete(key);
      else remember(key, v.rule, nowMs);
    }
    return v.rule;
  }

  return {
    route(x) {
      const requested = x.model;
      if (requested === null) return;
      let served = requested;
      let reason: Reason = 'map';
      const i = firstMatch(map, requested);
      if (i !== -1) served = map[i]!.target;
      let stepped: StepDownRule | null = null;
      if (stepDown.length > 0 && (x.route.kind === 'messages' || x.route.kind === 'chat')) {
        stepped = stepDownFor(x, served);
        if (stepped !== null) {
          served = stepped.target;
          reason = 'step_down';
        }
      }
      if (served === requested) return;
      // In place when the body has room past its end (a large body is then not held twice); the
      // room left stays usable for a later edit only if this one did not move the body elsewhere.
      const before = x.body;
      x.body = setJsonMember(before, ['model'], JSON.stringify(served), x.bodyEditRoom);
      x.bodyEditRoom &&= x.body.buffer === before.buffer;
      if (x.json !== null) x.json.model = served;
      x.model = served;
      x.requestedModel = requested;
      x.res.setHeader(
        HEADER,
        `from=${headerModel(requested)}; to=${served}${stepped !== null ? `; step_down=${conditionText(stepped)}` : ''}`,
      );
      count(requested, served, reason);
    },
    health() {
      const at = conditions(d.now());
      const on = observe(at);
      return {
        enabled: true,
        rules: map.map((r) => r.text),
        step_down: stepDown.map((r, i) => ({
          rule: r.text,
          active: on[i],
          ...(r.when.kind === 'quota'
            ? { window: r.when.window, above: r.when.above, used_fraction: usedFraction(r.when.window, at) }
            : { peak: at.peak }),
        })),
        sticky_conversations: sessions.size,
      };
    },
  };
}

/** A conversation's session id, when the client sent a usable one (Claude Code does). */
function sessionOf(x: Exchange): string | null {
  const v = x.req.headers[SESSION_HEADER];
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_SESSION_ID ? v : null;
}

/** A conversation within a session: Claude Code runs subagents (and, after /clear, new
 *  conversations) under one session id, each with its own first message, which later turns repeat.
 *  Its cache_control markers are left out: a client moves them to the newest turns as the
 *  conversation grows, so the first message carries one at the start and not later. */
function firstMessageOf(json: Record<string, unknown> | null): string {
  const messages = json?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return '';
  const text = JSON.stringify(messages[0], (k, v) => (k === 'cache_control' ? undefined : v));
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** The client's model string as a header value can carry it: visible ASCII of model names only. */
export function headerModel(model: string): string {
  const s = model.replace(/[^\w.:/@+\-[\]]/g, '_');
  return s.length > MAX_HEADER_MODEL ? s.slice(0, MAX_HEADER_MODEL) : s;
}

function conditionText(r: StepDownRule): string {
  return r.when.kind === 'peak' ? 'peak' : `${r.when.window}>${r.when.above}`;
}

function describe(r: StepDownRule, at: Conditions): string {
  if (r.when.kind === 'peak') return at.peak ? 'peak hours began' : 'peak hours ended';
  const used = usedFraction(r.when.window, at);
  return used === null
    ? `no fresh quota sample for ${r.when.window}`
    : `${r.when.window} used ${Math.round(used * 1000) / 10}%, threshold ${r.when.above * 100}%`;
}
